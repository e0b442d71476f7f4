package inbound

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

// RelayLetters finds sent messages in the relay's queue.
type RelayLetters struct {
	Store queue.Store
	// Owner names this instance in the lease under which the "replied"
	// fact is written (queue.Modify).
	Owner string
}

// Letter is the sent message messageID, as seen by the recipient whose
// copy had memoUUID (the reply mailbox differs for citizens and companies).
func (l RelayLetters) Letter(ctx context.Context, messageID, memoUUID string) (Letter, bool, error) {
	m, err := l.Store.Get(ctx, messageID)
	if errors.Is(err, queue.ErrNotFound) {
		return Letter{}, false, nil
	}
	if err != nil {
		return Letter{}, false, fmt.Errorf("inbound: sent message %s: %w", messageID, err)
	}
	for _, r := range m.Recipients {
		if normUUID(r.MemoUUID) != normUUID(memoUUID) {
			continue
		}
		mb := m.Reply.Citizen
		if r.ID.Kind == recipient.KindCVR {
			mb = m.Reply.Company
		}
		return Letter{MessageID: m.ID, Sender: m.Sender, Subject: m.Subject, Mailbox: mb, Sent: m.Created}, true, nil
	}
	return Letter{}, false, nil
}

// Replied records the typed fact on the sent message: an event of kind
// relayapi.EventReplied at the reply's time, naming the masked sender. The
// message's status derives RepliedAt from it. It is written under a lease
// of its own (queue.Modify), so it never overwrites the worker's writes.
func (l RelayLetters) Replied(ctx context.Context, messageID string, at time.Time, from recipient.ID) error {
	owner := l.Owner
	if owner == "" {
		owner = "inbound"
	}
	return queue.Modify(ctx, l.Store, messageID, owner, func(m *queue.Message) error {
		m.Events = append(m.Events, relayapi.Event{At: at.UTC(), Kind: relayapi.EventReplied, Recipient: from.Masked(),
			What: "Besvaret via Digital Post af " + from.Masked()})
		return nil
	})
}

// IndexingStore is the relay's store that also indexes, for correlation,
// the MeMo UUID of each recipient's copy of every message it creates. The
// index row is written first: a crash between the two leaves an index row
// naming no message, which finds nothing, never the reverse.
type IndexingStore struct {
	queue.Store
	Index *Store
}

// Create indexes m's MeMo UUIDs, then stores m.
func (s IndexingStore) Create(ctx context.Context, m *queue.Message) (string, bool, error) {
	for _, r := range m.Recipients {
		if r.MemoUUID != "" {
			if err := s.Index.RememberSent(ctx, r.MemoUUID, m.ID); err != nil {
				return "", false, err
			}
		}
	}
	return s.Store.Create(ctx, m)
}

// CreateWith stores m, its index rows and also's work (the submit's audit
// rows) in one transaction; the index must be in the store's database.
func (s IndexingStore) CreateWith(ctx context.Context, m *queue.Message, also func(*sql.Tx) error) (string, bool, error) {
	ts, ok := s.Store.(queue.TxStore)
	if !ok {
		return "", false, fmt.Errorf("inbound: create %s: the store has no transactions to share", m.ID)
	}
	return ts.CreateWith(ctx, m, func(tx *sql.Tx) error {
		for _, r := range m.Recipients {
			if r.MemoUUID != "" {
				if err := s.Index.RememberSentTx(ctx, tx, r.MemoUUID, m.ID); err != nil {
					return err
				}
			}
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
}

// UpdateWith is the store's.
func (s IndexingStore) UpdateWith(ctx context.Context, m *queue.Message, lease queue.Lease, also func(*sql.Tx) error) error {
	ts, ok := s.Store.(queue.TxStore)
	if !ok {
		return fmt.Errorf("inbound: update %s: the store has no transactions to share", m.ID)
	}
	return ts.UpdateWith(ctx, m, lease, also)
}

// RelayBlobs keeps received messages in the relay's encrypted blobs.
type RelayBlobs struct{ Blobs blobstore.Store }

// Create starts a blob.
func (b RelayBlobs) Create() (string, BlobWriter, error) {
	name, w, err := b.Blobs.Create()
	return name, w, err
}

// Open streams a blob.
func (b RelayBlobs) Open(name string) (io.ReadCloser, error) { return b.Blobs.Open(name) }

// Remove deletes blobs.
func (b RelayBlobs) Remove(names ...string) { b.Blobs.Remove(names...) }

// Sync makes committed blob names durable.
func (b RelayBlobs) Sync() error { return b.Blobs.Sync() }
