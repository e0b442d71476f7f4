// Package settings keeps the user's choices (reply mailboxes, signature,
// the relay's last known mailbox list) in the agent's database, encrypted:
// a signature or a mailbox name can be personal.
package settings

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

var bucket = []byte("settings")

// Settings is one user's choices.
type Settings struct {
	ReplyCitizen  string `json:"replyCitizen,omitempty"`
	ReplyCompany  string `json:"replyCompany,omitempty"`
	SignatureHTML string `json:"signatureHtml,omitempty"`
	// Language of the window and messages: "da" (default) or "en".
	Language string `json:"language,omitempty"`
	// Mailboxes is the relay's list as last seen, so the picker works
	// while the relay is away.
	Mailboxes *relayapi.MailboxChoices `json:"mailboxes,omitempty"`
	// MailAccount is the user's own mailbox (IMAP) for the marked copy of
	// every secure send and for receipts; its password or token lives in
	// the OS keyring, never here. Nil when not set up.
	MailAccount *MailAccount `json:"mailAccount,omitempty"`
}

// MailAccount is the IMAP account of the mailbox link (package mailbox).
type MailAccount struct {
	Server string `json:"server"`
	Port   int    `json:"port"`
	// TLS is "tls" (implicit), "starttls", or "plain" (loopback only).
	TLS  string `json:"tls"`
	User string `json:"user"`
	// Auth is "password" (default), "xoauth2" or "oauthbearer".
	Auth string `json:"auth,omitempty"`
	// Folder takes the marked copies; default "Sendt sikkert".
	Folder string `json:"folder,omitempty"`
}

// Store reads and writes the settings.
type Store struct {
	db  *bolt.DB
	key *vault.Key
	mu  sync.Mutex
}

// Open prepares the settings bucket in db.
func Open(db *bolt.DB, key *vault.Key) (*Store, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return &Store{db: db, key: key.Derive("settings")}, nil
}

// ErrDamaged is returned by Get when the stored settings cannot be opened.
var ErrDamaged = errors.New("settings: damaged")

// Get returns the settings (zero when none are stored, or, with
// ErrDamaged, when they cannot be opened).
func (s *Store) Get() (Settings, error) {
	var st Settings
	var sealed []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		sealed = append([]byte(nil), tx.Bucket(bucket).Get([]byte("user"))...)
		return nil
	})
	if err != nil || len(sealed) == 0 {
		return st, err
	}
	if err := s.key.OpenJSON(sealed, []byte("settings/user"), &st); err != nil {
		return Settings{}, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	return st, nil
}

// Update changes the settings durably.
func (s *Store) Update(change func(*Settings)) (Settings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.Get()
	damaged := errors.Is(err, ErrDamaged)
	if err != nil && !damaged {
		return st, err
	}
	change(&st)
	sealed, err := s.key.SealJSON(st, []byte("settings/user"))
	if err != nil {
		return st, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if damaged {
			// Kept as it was, beside the new settings: never overwritten.
			old := append([]byte(nil), b.Get([]byte("user"))...)
			if err := b.Put([]byte(fmt.Sprintf("user.damaged-%d", time.Now().UnixNano())), old); err != nil {
				return err
			}
		}
		return b.Put([]byte("user"), sealed)
	})
	if err != nil {
		return st, fmt.Errorf("settings: save: %w", err)
	}
	return st, nil
}
