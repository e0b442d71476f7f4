package settings

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

func open(t *testing.T) (*Store, *bolt.DB, *vault.Key) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "agent.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, _ := vault.New(vault.NewRandomKey())
	s, err := Open(db, key)
	if err != nil {
		t.Fatal(err)
	}
	return s, db, key
}

func TestSettings(t *testing.T) {
	s, db, key := open(t)
	st, err := s.Get()
	if err != nil || st.ReplyCitizen != "" || st.Mailboxes != nil {
		t.Fatalf("empty store: %+v %v", st, err)
	}
	mc := &relayapi.MailboxChoices{Citizen: relayapi.MailboxGroup{Options: []relayapi.ReplyMailbox{{ID: "kommune", Label: "Demo Kommune"}}}}
	got, err := s.Update(func(x *Settings) {
		x.ReplyCitizen, x.SignatureHTML, x.Mailboxes = "kommune", "<p>Anna Jensen, CPR-kontoret</p>", mc
		x.MailAccount = &MailAccount{Server: "imap.kommune.dk", Port: 993, TLS: "tls", User: "anna"}
	})
	if err != nil || got.ReplyCitizen != "kommune" {
		t.Fatalf("update: %+v %v", got, err)
	}
	st, err = s.Get()
	if err != nil || st.ReplyCitizen != "kommune" || st.Mailboxes == nil || st.Mailboxes.Citizen.Options[0].ID != "kommune" || st.MailAccount.User != "anna" {
		t.Fatalf("read back: %+v %v", st, err)
	}
	// A second update keeps what it does not change.
	s.Update(func(x *Settings) { x.Language = "en" })
	if st, _ := s.Get(); st.ReplyCitizen != "kommune" || st.Language != "en" {
		t.Fatalf("after a second update: %+v", st)
	}
	// Stored sealed: the signature is not on disk in clear.
	db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucket).Get([]byte("user")); bytes.Contains(v, []byte("CPR-kontoret")) {
			t.Fatal("settings stored in clear")
		}
		return nil
	})
	// Another key cannot read them (and the settings of one user cannot
	// be passed off as another record).
	other, _ := vault.New(vault.NewRandomKey())
	s2, _ := Open(db, other)
	if _, err := s2.Get(); !errors.Is(err, ErrDamaged) {
		t.Fatalf("other key: %v", err)
	}
	_ = key
}

// TestSettingsDamaged: damaged settings read as empty with ErrDamaged; the
// next change starts afresh and keeps the damaged record beside it.
func TestSettingsDamaged(t *testing.T) {
	s, db, _ := open(t)
	s.Update(func(x *Settings) { x.ReplyCitizen = "kommune" })
	db.Update(func(tx *bolt.Tx) error {
		v := append([]byte(nil), tx.Bucket(bucket).Get([]byte("user"))...)
		v[len(v)-3] ^= 1
		return tx.Bucket(bucket).Put([]byte("user"), v)
	})
	if st, err := s.Get(); !errors.Is(err, ErrDamaged) || st.ReplyCitizen != "" {
		t.Fatalf("damaged: %+v %v", st, err)
	}
	st, err := s.Update(func(x *Settings) { x.ReplyCompany = "jobcenter" })
	if err != nil || st.ReplyCompany != "jobcenter" || st.ReplyCitizen != "" {
		t.Fatalf("update over damaged: %+v %v", st, err)
	}
	if st, err := s.Get(); err != nil || st.ReplyCompany != "jobcenter" {
		t.Fatalf("after: %+v %v", st, err)
	}
	kept := 0
	db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			if strings.HasPrefix(string(k), "user.damaged-") {
				kept++
			}
			return nil
		})
	})
	if kept != 1 {
		t.Fatalf("%d damaged records kept, want 1", kept)
	}
}

func TestOpenReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.db")
	db, _ := bolt.Open(path, 0o600, nil)
	db.Close()
	ro, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	key, _ := vault.New(vault.NewRandomKey())
	if _, err := Open(ro, key); err == nil {
		t.Fatal("Open on a read-only database made no error")
	}
}
