package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"sendsikkert/internal/database"
)

// storeName is the relay's SQLite file in its data folder.
const storeName = "relay.sqlite"

// checkStore runs the store checks serve runs before it opens anything
// (database.Check): a damaged store is refused, never started on empty.
func checkStore(ctx context.Context, configPath, dbOverride string) error {
	cfg, err := loadConfig(configPath)
	if err != nil {
		return err
	}
	dsn := cfg.Database
	if dbOverride != "" {
		dsn = dbOverride
	}
	return database.Check(ctx, dsn, cfg.Data, storeName)
}

// check is `sendsikkert-relay check --config relay.yaml`: the same checks
// on demand; exit 0 when the store is sound, 1 with the finding.
func check(args []string) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	dbFlag := fs.String("database", "", "overrides the configuration's database (postgres://…)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	err := checkStore(context.Background(), *config, *dbFlag)
	switch {
	case errors.Is(err, database.ErrDamaged):
		fmt.Fprintf(os.Stderr, "Relæets lager er beskadiget og må ikke tages i brug: %v\n", err)
		return 1
	case err != nil:
		fmt.Fprintln(os.Stderr, "sendsikkert-relay check:", err)
		return 1
	}
	fmt.Println("Relæets lager er i orden.")
	return 0
}
