package main

import (
	"sendsikkert/internal/policy"

	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"sendsikkert/internal/agent"
	"sendsikkert/internal/enroll"
	"sendsikkert/internal/keystore"
)

// enrollCmd: sendsikkert enroll --relay URL --code CODE [--relay-ca FILE] [--data DIR]
func enrollCmd(args []string) int {
	fs := flag.NewFlagSet("enroll", flag.ContinueOnError)
	relayURL := fs.String("relay", "", "the organisation's relay, https://…")
	code := fs.String("code", "", "the one-time code from IT")
	relayCA := fs.String("relay-ca", "", "CA certificate (PEM) that signed the relay's server certificate; default: IT's policy RelayCA, else the system's")
	data := fs.String("data", agent.DefaultDataDir(), "per-user data folder")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *relayURL == "" { // the MSI's RELAY, or IT's policy
		if pol, err := policy.Load(); err == nil {
			*relayURL = pol.RelayURL
		}
	}
	if *relayURL == "" || *code == "" {
		fmt.Fprintln(os.Stderr, "brug: sendsikkert enroll --relay https://relæ.kommune.dk --code KODE")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	user, err := agent.Enroll(ctx, *data, *relayURL, *code, *relayCA)
	var refused *enroll.RefusedError
	var badCA *agent.RelayCAError
	switch {
	case errors.As(err, &refused):
		fmt.Fprintln(os.Stderr, "Tilmeldingen blev afvist:", refused.Message)
		return 1
	case errors.As(err, &badCA):
		fmt.Fprintln(os.Stderr, "Tilmeldingen mislykkedes:", badCA.Danish()+".")
		return 1
	case errors.Is(err, keystore.ErrUnavailable):
		fmt.Fprintln(os.Stderr, "Tilmeldingen kræver systemets nøglering, som ikke kan nås eller er låst. Lås nøgleringen op, og prøv igen.")
		return 1
	case err != nil:
		fmt.Fprintln(os.Stderr, "Tilmeldingen mislykkedes:", err)
		return 1
	}
	// A running agent that was not enrolled takes it up within seconds; an
	// enrolled one changes relay at its next start.
	fmt.Printf("Denne pc er tilmeldt relæet %s som %s. En Send sikkert, der kører uden tilmelding, bruger det om få sekunder; ellers fra næste start.\n", *relayURL, user)
	return 0
}
