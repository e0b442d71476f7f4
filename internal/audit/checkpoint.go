package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// A Checkpoint anchors the log outside its database: how many rows it
// held, its head (last row's number and hash) and when, signed with the
// relay's Ed25519 checkpoint key. Written to a folder and mailed to
// auditors daily, it lets Verify notice rows removed after it even when
// the database's head was rewound to an old copy of itself. The signing
// key is derived from the audit key, so it is never in the database;
// PublicKey (`sendsikkert-relay audit checkpoint-key`) lets anyone check a
// checkpoint without any secret.
type Checkpoint struct {
	Seq   int64     `json:"seq"`
	Count int64     `json:"count"`
	Head  string    `json:"head"`
	At    time.Time `json:"at"`
	// Signature is Ed25519 over SignedText().
	Signature []byte `json:"signature"`
}

// ErrCheckpoint is wrapped when a checkpoint is unreadable or its
// signature does not hold.
var ErrCheckpoint = errors.New("audit: checkpoint invalid")

// SignedText is what the signature covers: plain lines, so an auditor can
// check a checkpoint with any Ed25519 tool and the public key.
func (c Checkpoint) SignedText() []byte {
	return fmt.Appendf(nil, "sendsikkert audit checkpoint v1\nseq %d\ncount %d\nhead %s\nat %s\n", c.Seq, c.Count, c.Head, c.At.UTC().Format(time.RFC3339Nano))
}

// Verify checks c's signature.
func (c Checkpoint) Verify(pub ed25519.PublicKey) error {
	if !ed25519.Verify(pub, c.SignedText(), c.Signature) {
		return fmt.Errorf("%w: the signature of the checkpoint of %s does not hold", ErrCheckpoint, c.At.Format(time.RFC3339))
	}
	return nil
}

// PublicKey is the checkpoint key's public half.
func (l *Log) PublicKey() ed25519.PublicKey { return l.sign.Public().(ed25519.PublicKey) }

// PublicKeyPEM is PublicKey as a PEM "PUBLIC KEY" block.
func (l *Log) PublicKeyPEM() []byte {
	der, _ := x509.MarshalPKIXPublicKey(l.PublicKey())
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Checkpoint signs the log's current head and row count.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	c := Checkpoint{At: l.Now().UTC()}
	l.mu.Lock()
	defer l.mu.Unlock()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return c, fmt.Errorf("audit: checkpoint: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&c.Seq, &c.Head); err != nil {
		return c, fmt.Errorf("audit: checkpoint: %w", err)
	}
	if err := tx.QueryRowContext(ctx, l.db.Q(`SELECT count(*) FROM audit_log WHERE seq <= ?`), c.Seq).Scan(&c.Count); err != nil {
		return c, fmt.Errorf("audit: checkpoint: %w", err)
	}
	c.Signature = ed25519.Sign(l.sign, c.SignedText())
	return c, nil
}

// Marshal is the checkpoint file's content (JSON).
func (c Checkpoint) Marshal() []byte {
	b, _ := json.MarshalIndent(c, "", "  ")
	return append(b, '\n')
}

// ParseCheckpoint reads a checkpoint file's content. It does not check
// the signature (Verify does).
func ParseCheckpoint(b []byte) (Checkpoint, error) {
	var c Checkpoint
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	if c.Seq < 0 || c.Count < 0 || c.Count > c.Seq || len(c.Signature) != ed25519.SignatureSize || c.At.IsZero() {
		return c, fmt.Errorf("%w: fields out of range", ErrCheckpoint)
	}
	return c, nil
}

// FileName is the checkpoint's name in the checkpoint folder.
func (c Checkpoint) FileName() string {
	return "checkpoint-" + c.At.UTC().Format("20060102T150405.000000000Z") + ".json"
}

// WriteCheckpoint writes c into dir (made if missing) and returns its
// path. The file is written whole or not at all.
func WriteCheckpoint(dir string, c Checkpoint) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("audit: checkpoint folder: %w", err)
	}
	path := filepath.Join(dir, c.FileName())
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, c.Marshal(), 0o600); err != nil {
		return "", fmt.Errorf("audit: write checkpoint: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("audit: write checkpoint: %w", err)
	}
	return path, nil
}

// ReadCheckpointFile reads one checkpoint file.
func ReadCheckpointFile(path string) (Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: %w", err)
	}
	c, err := ParseCheckpoint(b)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ReadCheckpoints reads every checkpoint in dir, oldest first; a missing
// folder holds none.
func ReadCheckpoints(dir string) ([]Checkpoint, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "checkpoint-*.json"))
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoints: %w", err)
	}
	var out []Checkpoint
	for _, p := range paths {
		c, err := ReadCheckpointFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}
