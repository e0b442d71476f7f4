package agent

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/health"
	"sendsikkert/internal/keystore"
	"sendsikkert/internal/vault"
)

// What is set aside when the store cannot be used: the database and the
// folders whose files its records name. Each goes, unchanged, into a
// folder DATA/damaged-<reason>-<time>/ beside a problem.json telling
// what happened; nothing is ever deleted or overwritten. The agent then
// starts with an empty store and keeps working for new sends.
var storeParts = []string{"agent.db", "outbox", "uploads", "mailbox"}

// keyParts are set aside when the key is lost: everything sealed with it,
// the TLS identity and the demo relay's store too.
var keyParts = append([]string{"tls", "demo"}, storeParts...)

const (
	// keyEntryFile names the keyring entry of the store's key when it is
	// not the first one ("store-key"): after a key went missing the new
	// store gets a new entry, so that the old key, should it come back
	// (a roaming profile loaded late), still opens the store set aside.
	keyEntryFile  = "keyring-entry"
	firstKeyEntry = "store-key"

	problemStoreDamaged = "outbox_store_damaged"
	problemKeyMissing   = "keyring_key_missing"
	// damagedReportDays is how long a set-aside store is reported.
	damagedReportDays = 30
)

// asideRecord is problem.json in a folder set aside.
type asideRecord struct {
	Code    string    `json:"code"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
	Cause   string    `json:"cause"`
	// Waiting is how many messages the store held that had not reached
	// the relay (-1: unknown), with when each was accepted.
	Waiting  int         `json:"waiting"`
	Accepted []time.Time `json:"accepted,omitempty"`
}

// storeKey returns the key of the store, from the keyring entry the data
// folder names. A keyring that cannot be reached is an error (the caller
// waits and retries; nothing is created). An entry that is not found while
// a store exists means the key is lost: the store is set aside, reported,
// and a new key is made under a new entry.
func storeKey(dataDir string, store keystore.Store, now time.Time, log *slog.Logger) ([]byte, error) {
	entry := firstKeyEntry
	if b, err := os.ReadFile(filepath.Join(dataDir, keyEntryFile)); err == nil && strings.TrimSpace(string(b)) != "" {
		entry = strings.TrimSpace(string(b))
	}
	raw, err := store.Get(entry)
	if err == nil {
		if len(raw) != 32 {
			return nil, fmt.Errorf("keystore: key %s has %d bytes, want 32", entry, len(raw))
		}
		return raw, nil
	}
	if !errors.Is(err, keystore.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrKeyring, err)
	}
	if storeExists(dataDir) {
		log.Error("the outbox key is not in the OS keyring; the store is set aside and a new one started", "entry", entry)
		waiting, accepted := countWaiting(filepath.Join(dataDir, "agent.db"))
		msg := "Nøglen til udbakken findes ikke længere i systemets nøglering, så den gamle udbakke kan ikke læses. Den er lagt til side, og Send sikkert er startet med en ny. "
		msg += waitingSentence(waiting, accepted) + " Send sikkert har også fået et nyt certifikat, som skal godkendes igen (Betro certifikatet i Send sikkert-vinduet). Kontakt IT."
		if _, err := setAside(dataDir, "nokey", keyParts, now, asideRecord{Code: problemKeyMissing, Message: msg, Cause: "keyring entry " + entry + " not found", Waiting: waiting, Accepted: accepted}); err != nil {
			return nil, err
		}
		entry = fmt.Sprintf("%s-%s", firstKeyEntry, now.UTC().Format("20060102T150405"))
		if err := writeFile(filepath.Join(dataDir, keyEntryFile), []byte(entry+"\n")); err != nil {
			return nil, fmt.Errorf("agent: record the new key entry: %w", err)
		}
	}
	raw, err = keystore.Key(store, entry, vault.NewRandomKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyring, err)
	}
	return raw, nil
}

func storeExists(dataDir string) bool {
	fi, err := os.Stat(filepath.Join(dataDir, "agent.db"))
	return err == nil && fi.Size() > 0
}

// openStore opens DATA/agent.db. A file the database cannot open, or whose
// pages fail its consistency check, is set aside and a new one made: a
// damaged store never keeps the agent from starting, and never panics it.
func openStore(dataDir string, now time.Time, log *slog.Logger) (*bolt.DB, error) {
	path := filepath.Join(dataDir, "agent.db")
	db, err := openChecked(path)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("agent: another Send sikkert agent is already running with %s", dataDir)
	}
	if err == nil {
		return db, nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && !errors.Is(err, bolt.ErrInvalid) {
		// Not the file's content: the disk or the folder's rights.
		return nil, fmt.Errorf("agent: open database: %w", err)
	}
	log.Error("the outbox store is damaged; it is set aside and a new one started", "err", err)
	waiting, accepted := countWaiting(path)
	msg := "Udbakken på denne pc var beskadiget. Den er lagt til side, og Send sikkert er startet med en ny. " + waitingSentence(waiting, accepted) + " Kontakt IT."
	if _, err := setAside(dataDir, "store", storeParts, now, asideRecord{Code: problemStoreDamaged, Message: msg, Cause: err.Error(), Waiting: waiting, Accepted: accepted}); err != nil {
		return nil, err
	}
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 3 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("agent: open new database: %w", err)
	}
	return db, nil
}

// openChecked opens the database and runs its consistency check. bbolt
// panics on some damaged pages while opening (a freelist pointing
// nowhere), and a page past the end of a cut-short file faults: both are
// turned into ErrInvalid here.
func openChecked(path string) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if db != nil {
				db.Close()
			}
			db, err = nil, fmt.Errorf("%w: %v", bolt.ErrInvalid, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 3 * time.Second})
	if err != nil {
		return nil, err
	}
	if err := check(db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// check runs the database's own consistency check (it recovers from the
// panics a damaged page would cause).
func check(db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
			if len(errs) == 10 {
				break
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%w: %w", bolt.ErrInvalid, errors.Join(errs...))
		}
		return nil
	})
}

// countWaiting reads, without any key, how many messages a store held
// that had not reached the relay and when each was accepted (the queue's
// clear columns). -1 when the file cannot be read at all.
func countWaiting(path string) (n int, accepted []time.Time) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			n, accepted = -1, nil
		}
	}()
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return -1, nil
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		q := tx.Bucket([]byte("outbox-queue"))
		if q == nil {
			return nil
		}
		return q.ForEach(func(_, v []byte) error {
			if len(v) >= 17 && v[16] == 'h' {
				return nil // the relay has it
			}
			n++
			if len(v) >= 16 {
				accepted = append(accepted, time.Unix(0, int64(binary.BigEndian.Uint64(v[8:]))).UTC())
			}
			return nil
		})
	})
	if err != nil {
		return -1, nil
	}
	sort.Slice(accepted, func(i, j int) bool { return accepted[i].Before(accepted[j]) })
	return n, accepted
}

func waitingSentence(n int, accepted []time.Time) string {
	switch {
	case n < 0:
		return "Det kan ikke ses, hvor mange forsendelser der ikke var sendt videre til relæet."
	case n == 0:
		return "Alle forsendelser i den var sendt videre til relæet."
	}
	s := fmt.Sprintf("%d forsendelser var ikke sendt videre til relæet og er ikke sendt", n)
	if n == 1 {
		s = "1 forsendelse var ikke sendt videre til relæet og er ikke sendt"
	}
	if len(accepted) > 0 {
		s += fmt.Sprintf(" (modtaget mellem %s og %s)", danishTime(accepted[0]), danishTime(accepted[len(accepted)-1]))
	}
	return s + "; send dem igen."
}

func danishTime(t time.Time) string {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		loc = time.Local
	}
	return t.In(loc).Format("02-01-2006 15:04")
}

// setAside moves the store's parts into DATA/damaged-<reason>-<time>/ and
// writes problem.json there. A name already taken gets a suffix: nothing
// is overwritten.
func setAside(dataDir, reason string, parts []string, now time.Time, rec asideRecord) (string, error) {
	base := filepath.Join(dataDir, "damaged-"+reason+"-"+now.UTC().Format("20060102T150405"))
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("agent: set the damaged store aside: %w", err)
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
	for _, p := range parts {
		if err := os.Rename(filepath.Join(dataDir, p), filepath.Join(dir, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("agent: set %s aside: %w", p, err)
		}
	}
	rec.At = now.UTC()
	rec.Message += " (Lagt til side i " + dir + ".)"
	b, _ := json.MarshalIndent(rec, "", "  ")
	if err := writeFile(filepath.Join(dir, "problem.json"), b); err != nil {
		return "", fmt.Errorf("agent: describe the damaged store: %w", err)
	}
	return dir, vault.SyncDir(dataDir)
}

// asideProblems reports the stores set aside in the last 30 days, read
// from their problem.json: after a restart they are still told.
func asideProblems(dataDir string, now time.Time) []health.Problem {
	dirs, _ := filepath.Glob(filepath.Join(dataDir, "damaged-*", "problem.json"))
	sort.Strings(dirs)
	var out []health.Problem
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var rec asideRecord
		if json.Unmarshal(b, &rec) != nil || now.Sub(rec.At) > damagedReportDays*24*time.Hour {
			continue
		}
		pr := health.Problem{Code: rec.Code, Message: rec.Message}
		for _, t := range rec.Accepted[:min(len(rec.Accepted), 20)] {
			pr.Affected = append(pr.Affected, health.Affected{Created: t})
		}
		out = append(out, pr)
	}
	return out
}

func writeFile(path string, b []byte) error {
	return vault.WriteFile(path, 0o600, func(w io.Writer) error { _, err := w.Write(b); return err })
}
