package inbound

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
	"sendsikkert/internal/vault"
)

// TestStore runs on SQLite and, with SENDSIKKERT_PG_DSN, PostgreSQL: a
// duplicate id changes nothing, two instances never hold one message at
// once, a released lease makes it claimable again, records are sealed.
func TestStore(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		key, _ := vault.New(bytes.Repeat([]byte{3}, vault.KeySize))
		s, err := OpenStore(ctx, db, key)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
		r := &Record{ID: "8c2ea15d-61fb-4ba9-9366-42f8b194c114", Received: now, Blob: "b1", Header: Header{Label: "Svar fra 2211771212"}}
		if created, err := s.Add(ctx, r, StatePending); err != nil || !created {
			t.Fatalf("add: %v %v", created, err)
		}
		r2 := *r
		r2.Blob = "b2"
		if created, err := s.Add(ctx, &r2, StatePending); err != nil || created {
			t.Fatalf("duplicate add: %v %v", created, err)
		}
		if got, _ := s.Get(ctx, r.ID); got.Blob != "b1" {
			t.Fatalf("duplicate changed the record: %+v", got)
		}
		a, err := s.Claim(ctx, StatePending, "a", now, time.Minute, 10)
		if err != nil || len(a) != 1 {
			t.Fatalf("claim a: %v %v", a, err)
		}
		if b, _ := s.Claim(ctx, StatePending, "b", now.Add(time.Second), time.Minute, 10); len(b) != 0 {
			t.Fatalf("b claimed what a holds: %v", b)
		}
		if b, _ := s.Claim(ctx, StatePending, "b", now.Add(2*time.Minute), time.Minute, 10); len(b) != 1 {
			t.Fatalf("an expired lease was not taken over: %v", b)
		}
		row, _ := s.Get(ctx, r.ID)
		row.State, row.Attempts, row.NextAttempt = StateQuarantined, 3, now.Add(3*time.Minute)
		if err := s.Update(ctx, row); err != nil {
			t.Fatal(err)
		}
		if q, _ := s.Claim(ctx, StateQuarantined, "c", now.Add(3*time.Minute), time.Minute, 10); len(q) != 1 {
			t.Fatalf("released, due, unalerted: %v", q)
		}
		row, _ = s.Get(ctx, r.ID)
		row.Alerted = true
		s.Update(ctx, row)
		if q, _ := s.Claim(ctx, StateQuarantined, "c", now.Add(time.Hour), time.Minute, 10); len(q) != 0 {
			t.Fatalf("alerted message claimed again: %v", q)
		}
		if l, _ := s.List(ctx, StateQuarantined); len(l) != 1 || l[0].Attempts != 3 || !l[0].Alerted {
			t.Fatalf("list: %+v", l)
		}
		if err := s.RememberSent(ctx, "ABCDEF00-0000-4000-8000-000000000000", "m1"); err != nil {
			t.Fatal(err)
		}
		if id, ok, _ := s.SentMessage(ctx, "abcdef00-0000-4000-8000-000000000000"); !ok || id != "m1" {
			t.Fatalf("sent lookup: %q %v", id, ok)
		}
		var raw []byte
		db.QueryRowContext(ctx, db.Q(`SELECT record FROM inbound_messages WHERE id = ?`), r.ID).Scan(&raw)
		if strings.Contains(string(raw), "2211771212") || strings.Contains(string(raw), "Svar") {
			t.Fatal("record stored in clear")
		}
		if err := s.DropLeases(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
