package sqlstore

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"sendsikkert/internal/upload"
)

// TestUploadsShared: the hosted add-in's uploads in the store. Slices
// stored at once through two instances (PostgreSQL) or two handles on one
// SQLite store are all recorded — the record's update is atomic, no slice
// overwrites another's entry — and a store opened again has them.
func TestUploadsShared(t *testing.T) {
	for _, b := range []func(t *testing.T) (backend, bool){
		func(t *testing.T) (backend, bool) { return sqliteBackend(t), true },
		pgBackend,
	} {
		b, ok := b(t)
		if !ok {
			t.Run("postgres", func(t *testing.T) { t.Skip("SENDSIKKERT_PG_DSN not set") })
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			first := b.open(t).(*SQLStore)
			stores := []*upload.Store{upload.OpenShared(first.Uploads(), first.Blobs(), testKey())}
			if b.shared {
				second := b.open(t).(*SQLStore)
				stores = append(stores, upload.OpenShared(second.Uploads(), second.Blobs(), testKey()))
			} else {
				stores = append(stores, stores[0])
			}
			const n = 8
			doc := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0123456789"), n*100)...)
			part := len(doc) / n
			i, err := stores[0].CreateFor("entra:t/o", "a.pdf", "application/pdf", int64(len(doc)))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for k := range n {
				end := (k + 1) * part
				if k == n-1 {
					end = len(doc)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := stores[k%2].Put(i.ID, k, bytes.NewReader(doc[k*part:end])); err != nil {
						errs <- fmt.Errorf("slice %d: %w", k, err)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			got, err := stores[1].Get(i.ID)
			if err != nil || len(got.Slices) != n || !got.Complete() || got.Owner != "entra:t/o" {
				t.Fatalf("after concurrent slices: %+v %v", got, err)
			}
			first.Close()
			again := b.open(t).(*SQLStore)
			s := upload.OpenShared(again.Uploads(), again.Blobs(), testKey())
			f, err := s.Take(i.ID, again.Blobs(), nil)
			if err != nil || f.Size != int64(len(doc)) {
				t.Fatalf("take after reopening: %+v %v", f, err)
			}
			if err := s.Delete(i.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(i.ID); err != upload.ErrNotFound {
				t.Fatalf("deleted upload: %v", err)
			}
		})
	}
}
