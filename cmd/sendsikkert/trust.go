package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"sendsikkert/internal/agent"
	"sendsikkert/internal/trust"
)

// trustCmd is `sendsikkert trust install|remove|status`: the per-install CA
// into and out of the user's trust stores.
func trustCmd(args []string) int {
	usage := "brug: sendsikkert trust install|remove|status [--data DIR] [--nssdb DIR] [--system] [--json]"
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("sendsikkert trust "+verb, flag.ContinueOnError)
	data := fs.String("data", agent.DefaultDataDir(), "per-user data folder (the CA is DATA/tls/ca.crt)")
	nssdb := fs.String("nssdb", "", "Linux: only this NSS database (default: ~/.pki/nssdb and every Firefox profile)")
	system := fs.Bool("system", false, "Linux: the system bundle as well (needs root)")
	asJSON := fs.Bool("json", false, "status as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	opts := trust.Options{System: *system}
	if *nssdb != "" {
		opts.NSSDBs = []string{*nssdb}
	}
	ca, err := trust.LoadCA(trust.CAFile(*data))
	if err != nil {
		fmt.Fprintln(os.Stderr, "Send sikkerts certifikat findes ikke endnu. Start Send sikkert én gang, og prøv igen.")
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch verb {
	case "install", "remove":
		f, done := trust.Install, "Send sikkerts certifikat er nu betroet"
		if verb == "remove" {
			f, done = trust.Remove, "Send sikkerts certifikat er fjernet"
		}
		if err := f(ca, opts); err != nil {
			if errors.Is(err, trust.ErrNoStore) {
				fmt.Fprintln(os.Stderr, "Der findes intet certifikatlager, Send sikkert kan bruge på denne pc.")
			} else {
				fmt.Fprintln(os.Stderr, "Det lykkedes ikke helt:", err)
			}
			return 1
		}
		fmt.Println(done + ".")
		return 0
	case "status":
		r, err := trust.Status(ca, opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, "Status kunne ikke læses:", err)
			return 1
		}
		if *asJSON {
			json.NewEncoder(os.Stdout).Encode(struct {
				trust.Report
				Trusted bool `json:"trusted"`
			}{r, r.Trusted()})
		} else {
			fmt.Println("Certifikat (SHA-256):", r.Fingerprint)
			for _, s := range r.States {
				word := "ikke betroet"
				if s.Trusted {
					word = "betroet"
				}
				if s.Error != "" {
					word = "fejl: " + s.Error
				}
				fmt.Printf("  %s: %s\n", s.Store, word)
			}
		}
		if !r.Trusted() {
			return 3
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, usage)
	return 2
}
