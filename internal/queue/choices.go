package queue

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/relayapi"
)

// ReplyChoices keeps the hosted add-in's users' reply-mailbox choices
// (PUT /api/v1/reply-mailboxes) in the relay's store, by owner, so that
// they survive a restart and every instance sharing the store sees them.
// (The agent keeps a device user's choice on the PC.)
type ReplyChoices interface {
	// ReplyChoice is owner's saved choice, zero when none was saved.
	ReplyChoice(ctx context.Context, owner string) (relayapi.ReplyChoice, error)
	// SetReplyChoice saves c for owner — an empty field keeps what was
	// saved — durably before it returns, and returns the choice now in
	// force.
	SetReplyChoice(ctx context.Context, owner string, c relayapi.ReplyChoice) (relayapi.ReplyChoice, error)
}

var bucketChoices = []byte("replyChoices")

func (s *BoltStore) ReplyChoice(_ context.Context, owner string) (relayapi.ReplyChoice, error) {
	var c relayapi.ReplyChoice
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChoices)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(owner)); v != nil {
			return json.Unmarshal(v, &c)
		}
		return nil
	})
	if err != nil {
		return relayapi.ReplyChoice{}, fmt.Errorf("relay store: reply choice: %w", err)
	}
	return c, nil
}

// SetReplyChoice merges in one bbolt transaction (one writer at a time),
// committed with fsync.
func (s *BoltStore) SetReplyChoice(_ context.Context, owner string, c relayapi.ReplyChoice) (relayapi.ReplyChoice, error) {
	var out relayapi.ReplyChoice
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketChoices)
		if err != nil {
			return err
		}
		if v := b.Get([]byte(owner)); v != nil {
			if err := json.Unmarshal(v, &out); err != nil {
				return err
			}
		}
		if c.Citizen != "" {
			out.Citizen = c.Citizen
		}
		if c.Company != "" {
			out.Company = c.Company
		}
		v, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return b.Put([]byte(owner), v)
	})
	if err != nil {
		return relayapi.ReplyChoice{}, fmt.Errorf("relay store: set reply choice: %w", err)
	}
	return out, nil
}
