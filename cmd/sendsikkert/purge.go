package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"sendsikkert/internal/purge"
)

// purgeCmd: sendsikkert purge --all-users. The uninstaller runs it as
// SYSTEM with PURGE=1 (root elsewhere): it removes every user profile's
// Send sikkert data folders and log files. Keys in each user's own keyring
// (Windows Credential Manager) cannot be reached from SYSTEM; without the
// data they unlock nothing.
func purgeCmd(args []string) int {
	fs := flag.NewFlagSet("sendsikkert purge", flag.ContinueOnError)
	all := fs.Bool("all-users", false, "remove the data of every user profile on this machine (run as SYSTEM or root)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !*all {
		fmt.Fprintln(os.Stderr, "brug: sendsikkert purge --all-users   (sletter alle brugeres Send sikkert-data på denne maskine)")
		return 2
	}
	profiles, err := purge.Profiles()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert purge: cannot list the user profiles:", err)
		return 1
	}
	failed := false
	for _, r := range purge.All(profiles) {
		switch {
		case r.Removed:
			fmt.Println("removed", r.Path)
		case errors.Is(r.Err, purge.ErrLink):
			fmt.Println("left (a link on the way):", r.Path)
		case r.Err != nil:
			fmt.Fprintln(os.Stderr, "sendsikkert purge:", r.Err)
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}
