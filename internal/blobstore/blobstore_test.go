package blobstore

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

func TestStoreError(t *testing.T) {
	full := &fs.PathError{Op: "write", Path: "/x/blobs/ab", Err: syscall.ENOSPC}
	if e, status := StoreError(fmt.Errorf("commit: %w", full)); status != 507 || e.Code != "disk_full" {
		t.Fatalf("ENOSPC: %d %+v", status, e)
	}
	if e, status := StoreError(errors.New("input/output error")); status != 500 || e.Code != "store" {
		t.Fatalf("other: %d %+v", status, e)
	}
}
