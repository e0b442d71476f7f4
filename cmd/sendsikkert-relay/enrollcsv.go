package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"time"
)

// MaxCSVUsers bounds one bulk run; larger rollouts run in batches.
const MaxCSVUsers = 50000

// readUsers reads the users of `enroll-code --csv`: one e-mail address in
// the first column of each row (further columns, such as a name, are
// ignored); a first row whose first cell is not an address (email, user,
// "e-mail") is a header. Separators ',' and ';' (Excel in Danish) are both
// read. Every row is checked before any code is made, so a typo on line
// 812 issues nothing; a user listed twice gets one code.
func readUsers(r io.Reader) ([]string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, err
	}
	text := strings.TrimPrefix(string(b), "\ufeff") // Excel's UTF-8 BOM
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = ','
	if first, _, _ := strings.Cut(text, "\n"); strings.Count(first, ";") > strings.Count(first, ",") {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var users []string
	seen := map[string]bool{}
	var errs []error
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("users CSV: %w", err)
		}
		cell := ""
		if len(rec) > 0 {
			cell = strings.TrimSpace(rec[0])
		}
		if cell == "" || strings.HasPrefix(cell, "#") {
			continue
		}
		if line == 1 && !strings.Contains(cell, "@") {
			continue // header
		}
		a, err := mail.ParseAddress(cell)
		if err != nil || a.Address != cell || strings.ContainsAny(cell, "<> ") {
			errs = append(errs, fmt.Errorf("line %d: %q is not an e-mail address", line, cell))
			continue
		}
		key := strings.ToLower(cell)
		if seen[key] {
			continue
		}
		seen[key] = true
		users = append(users, cell)
		if len(users) > MaxCSVUsers {
			return nil, fmt.Errorf("users CSV: more than %d users; split the file", MaxCSVUsers)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("users CSV: nothing issued: %w", errors.Join(errs...))
	}
	if len(users) == 0 {
		return nil, errors.New("users CSV: no users")
	}
	return users, nil
}

// enrollCode: one code (--user), or one per user of a CSV file (--csv,
// "-" for stdin) printed as CSV: user,code,expires.
func enrollCode(args []string) int {
	fs := flag.NewFlagSet("enroll-code", flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	user := fs.String("user", "", "the user's e-mail address")
	csvPath := fs.String("csv", "", "a CSV file of users (e-mail in the first column; - for stdin): prints user,code,expires as CSV")
	if err := fs.Parse(args); err != nil || (*user == "") == (*csvPath == "") {
		fmt.Fprintln(os.Stderr, usageText)
		return 2
	}
	if *user != "" {
		return withEnv(*config, func(ctx context.Context, e *env) int {
			code, expires, err := e.auth.NewCode(ctx, *user)
			if err != nil {
				fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
				return 1
			}
			e.audit.Record(ctx, "admin", "enroll-code", zeroID, "", strings.ToLower(*user), "")
			fmt.Println(code)
			fmt.Fprintf(os.Stderr, "Engangskode til %s, gyldig til %s. Brugeren kører: sendsikkert enroll --relay https://… --code %s\n", *user, expires.Format("02-01-2006 15:04"), code)
			return 0
		})
	}
	var in io.Reader = os.Stdin
	if *csvPath != "-" {
		f, err := os.Open(*csvPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	users, err := readUsers(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
		return 1
	}
	return withEnv(*config, func(ctx context.Context, e *env) int {
		w := csv.NewWriter(os.Stdout)
		w.Write([]string{"user", "code", "expires"})
		for i, u := range users {
			code, expires, err := e.auth.NewCode(ctx, u)
			if err != nil {
				w.Flush()
				fmt.Fprintf(os.Stderr, "sendsikkert-relay: %s: %v (codes for the %d users before it were issued and printed)\n", u, err, i)
				return 1
			}
			e.audit.Record(ctx, "admin", "enroll-code", zeroID, "", strings.ToLower(u), "")
			w.Write([]string{u, code, expires.UTC().Format(time.RFC3339)})
		}
		w.Flush()
		if err := w.Error(); err != nil {
			fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "%d engangskoder udstedt. Filen indeholder hemmelige koder: giv hver bruger kun sin egen, og slet filen bagefter.\n", len(users))
		return 0
	})
}
