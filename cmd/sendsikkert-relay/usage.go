package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"sendsikkert/internal/usage"
)

// usageCmd: sendsikkert-relay usage --from D --to D [--by ...] [--format csv|json]
func usageCmd(args []string) int {
	fs := flag.NewFlagSet("usage", flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	from := fs.String("from", "", "first day (YYYY-MM-DD)")
	to := fs.String("to", "", "day after the last (YYYY-MM-DD), exclusive")
	by := fs.String("by", usage.ByChannel, "sender, replyMailbox, channel or month")
	format := fs.String("format", "csv", "csv or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *from == "" || *to == "" || (*format != "csv" && *format != "json") {
		fmt.Fprintln(os.Stderr, usageText)
		return 2
	}
	f, err := usage.ParseDay(*from)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	t, err := usage.ParseDay(*to)
	if err != nil || !t.After(f) {
		fmt.Fprintln(os.Stderr, "--to skal være efter --from")
		return 2
	}
	return withEnv(*config, func(ctx context.Context, e *env) int {
		rep, err := usage.Count(ctx, e.audit, f, t, *by)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
			return 2
		}
		if *format == "json" {
			err = rep.WriteJSON(os.Stdout)
		} else {
			err = rep.WriteCSV(os.Stdout)
		}
		if err != nil {
			return 1
		}
		return 0
	})
}
