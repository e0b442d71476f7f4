package directory_test

import (
	"strings"
	"testing"

	"sendsikkert/internal/directory"
	"sendsikkert/internal/directory/directorytest"
)

func TestDomains(t *testing.T) {
	var d directory.Domains
	d.Set(directory.DemoDomains())
	if !d.Has("demo-kommune.dk") || d.Has("gmail.com") {
		t.Fatal("Has")
	}
	if got := d.Search("", "j", 0); len(got) != 1 || got[0].Domain != "jobcenter-demo.dk" {
		t.Fatalf("letter j: %v", got)
	}
	if got := d.Search("demo-s", "", 0); len(got) != 1 || got[0].Domain != "demo-sygehus.dk" {
		t.Fatalf("prefix: %v", got)
	}
	if got := d.Search("advokat", "", 0); len(got) != 1 {
		t.Fatalf("organisation: %v", got)
	}
	if _, err := directory.LoadCSV(strings.NewReader("domain\nnot a domain\n")); err == nil {
		t.Fatal("bad row accepted")
	}
}

func TestMemoryBookContract(t *testing.T) { directorytest.BookContract(t, directory.DemoBook()) }
