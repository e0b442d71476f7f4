package main

import (
	"flag"
	"fmt"
	"os"

	"sendsikkert/internal/manifest"
)

const manifestUsage = "usage: sendsikkert manifest outlook|office --origin https://HOST:PORT --out FILE"

// manifestCmd writes an add-in manifest for IT to deploy:
//
//	sendsikkert manifest outlook --origin https://HOST:PORT --out FILE
//	sendsikkert manifest office  --origin https://HOST:PORT --out FILE   (Word, Excel, PowerPoint)
func manifestCmd(args []string) int {
	kinds := map[string]func(string) ([]byte, error){"outlook": manifest.Outlook, "office": manifest.Office}
	if len(args) == 0 || kinds[args[0]] == nil {
		fmt.Fprintln(os.Stderr, manifestUsage)
		return 2
	}
	build := kinds[args[0]]
	fs := flag.NewFlagSet("sendsikkert manifest "+args[0], flag.ContinueOnError)
	origin := fs.String("origin", "", "origin that serves the add-in pages under /addin/, https://host[:port]")
	out := fs.String("out", "", "file to write; - for standard output")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *origin == "" || *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, manifestUsage)
		return 2
	}
	b, err := build(*origin)
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
