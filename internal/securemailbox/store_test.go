package securemailbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
	"sendsikkert/internal/vault"
)

func TestStore(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		key, _ := vault.New(vault.NewRandomKey())
		s, err := OpenStore(ctx, db, key)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		b := &Box{ID: "b1", MessageID: "m1", MemoUUID: "u1", Token: randomToken(32), Recipient: "a@b.dk", Mobile: "+4512345678",
			BodyHTML: "<p>hemmelig</p>", Created: now, Expires: now.Add(time.Hour), Deadline: now.Add(time.Minute), State: StateWaiting}
		if _, created, err := s.Create(ctx, b); err != nil || !created {
			t.Fatalf("create: %v %v", created, err)
		}
		again := *b
		again.ID, again.Token = "b2", randomToken(32)
		if got, created, err := s.Create(ctx, &again); err != nil || created || got.ID != "b1" {
			t.Fatalf("same memo: %v %v %v", got, created, err)
		}
		got, err := s.ByToken(ctx, b.Token)
		if err != nil || got.BodyHTML != "<p>hemmelig</p>" || got.Mobile != "+4512345678" {
			t.Fatalf("by token: %+v %v", got, err)
		}
		if _, err := s.ByToken(ctx, randomToken(32)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
		// Due at the deadline, then (once alerted) at expiry, never once closed.
		if ids, _ := s.Due(ctx, now.Add(30*time.Second)); len(ids) != 0 {
			t.Fatalf("due early: %v", ids)
		}
		if ids, _ := s.Due(ctx, now.Add(2*time.Minute)); len(ids) != 1 {
			t.Fatalf("not due at deadline: %v", ids)
		}
		s.Update(ctx, "id", "b1", func(b *Box) error { b.Alerted = true; return nil })
		if ids, _ := s.Due(ctx, now.Add(2*time.Minute)); len(ids) != 0 {
			t.Fatalf("due after alert: %v", ids)
		}
		if ids, _ := s.Due(ctx, now.Add(2*time.Hour)); len(ids) != 1 {
			t.Fatalf("not due at expiry: %v", ids)
		}
		boom := errors.New("boom")
		if _, err := s.Update(ctx, "id", "b1", func(b *Box) error { b.State = StateRevoked; return boom }); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if got, _ := s.ByToken(ctx, b.Token); got.State != StateWaiting {
			t.Fatalf("failed update applied: %s", got.State)
		}
		s.Update(ctx, "id", "b1", func(b *Box) error { b.State = StateRevoked; return nil })
		if ids, _ := s.Due(ctx, now.Add(48*time.Hour)); len(ids) != 0 {
			t.Fatalf("closed box due: %v", ids)
		}
		if ids, _ := s.ByMessage(ctx, "m1"); len(ids) != 1 {
			t.Fatalf("by message: %v", ids)
		}
		// Sealed: the database holds no content in clear.
		var sealed []byte
		db.QueryRowContext(ctx, db.Q(`SELECT sealed FROM securemailbox WHERE id = ?`), "b1").Scan(&sealed)
		if len(sealed) == 0 || contains(sealed, "a@b.dk") {
			t.Fatal("record not sealed")
		}
	})
}

func contains(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}
