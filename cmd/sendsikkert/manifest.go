package main

import (
	"flag"
	"fmt"
	"os"

	"sendsikkert/internal/manifest"
)

// manifestCmd writes an add-in manifest for IT to deploy:
//
//	sendsikkert manifest outlook --origin https://HOST:PORT --out FILE
func manifestCmd(args []string) int {
	if len(args) == 0 || args[0] != "outlook" {
		fmt.Fprintln(os.Stderr, "usage: sendsikkert manifest outlook --origin https://HOST:PORT --out FILE")
		return 2
	}
	fs := flag.NewFlagSet("sendsikkert manifest outlook", flag.ContinueOnError)
	origin := fs.String("origin", "", "origin that serves the add-in pages under /addin/, https://host[:port]")
	out := fs.String("out", "", "file to write; - for standard output")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *origin == "" || *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: sendsikkert manifest outlook --origin https://HOST:PORT --out FILE")
		return 2
	}
	b, err := manifest.Outlook(*origin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert:", err)
		return 2
	}
	if *out == "-" {
		os.Stdout.Write(b)
		return 0
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert:", err)
		return 1
	}
	return 0
}
