package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sendsikkert/internal/audit"
	"sendsikkert/internal/backup"
	"sendsikkert/internal/database"
)

// sqlitePaths names the relay's SQLite file and blob folder, or refuses
// a PostgreSQL relay, which is backed up with PostgreSQL's own tools.
func sqlitePaths(cfg *Config) (dbPath, blobDir string, err error) {
	if strings.HasPrefix(cfg.Database, "postgres://") || strings.HasPrefix(cfg.Database, "postgresql://") {
		return "", "", errors.New("this relay keeps its data in PostgreSQL: back it up with pg_dump and restore it with pg_restore (docs/relay.md)")
	}
	dbPath = strings.TrimPrefix(cfg.Database, "sqlite:")
	if dbPath == "" {
		dbPath = filepath.Join(cfg.Data, storeName)
	}
	return dbPath, filepath.Join(cfg.Data, "blobs"), nil
}

// sqliteCommand parses the flags of backup and restore (--config and the
// file flag named file) and names the SQLite relay's database and blob
// folder; cfg is nil when the command must end with code.
func sqliteCommand(name, file, help string, args []string) (cfg *configAt, dbPath, blobDir, path string, code int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	fs.StringVar(&path, file, "", help)
	if err := fs.Parse(args); err != nil || path == "" {
		fmt.Fprintln(os.Stderr, usageText)
		return nil, "", "", "", 2
	}
	c, err := loadConfig(*config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
		return nil, "", "", "", 1
	}
	if dbPath, blobDir, err = sqlitePaths(c); err != nil {
		fmt.Fprintf(os.Stderr, "sendsikkert-relay %s: %v\n", name, err)
		return nil, "", "", "", 1
	}
	return &configAt{Config: c, path: *config}, dbPath, blobDir, path, 0
}

// configAt is a loaded configuration and the file it came from.
type configAt struct {
	*Config
	path string
}

// backupCmd is `sendsikkert-relay backup --config relay.yaml --to FILE`: a
// consistent online backup of a running SQLite relay (database snapshot
// and encrypted attachments in one file).
func backupCmd(args []string) int {
	cfg, dbPath, blobDir, to, code := sqliteCommand("backup", "to", "the backup file to write", args)
	if cfg == nil {
		return code
	}
	m, err := backup.Take(context.Background(), dbPath, blobDir, to, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay backup:", err)
		return 1
	}
	fmt.Printf("Sikkerhedskopi skrevet til %s: %d forsendelser, %d bilag, LOG-modulet til og med række %d, taget %s.\n",
		to, m.Messages, m.Blobs, m.AuditSeq, m.TakenAt.Format(time.RFC3339))
	return 0
}

// restoreCmd is `sendsikkert-relay restore --config relay.yaml --from FILE`.
func restoreCmd(args []string) int {
	cfg, dbPath, blobDir, from, code := sqliteCommand("restore", "from", "the backup file to restore", args)
	if cfg == nil {
		return code
	}
	ctx := context.Background()
	config := cfg.path
	rep, err := backup.Restore(ctx, from, dbPath, blobDir, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay restore:", err)
		return 1
	}
	// The last audit row known before the restore: the replaced database's,
	// or the newest checkpoint's when that is later (the database may be
	// the damage being repaired).
	lostTo := rep.LostAuditTo
	if cps, err := audit.ReadCheckpoints(cfg.Audit.CheckpointDir); err == nil && len(cps) > 0 {
		lostTo = max(lostTo, cps[len(cps)-1].Seq)
	}
	e, err := open(ctx, config, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay restore: the restored database:", err)
		return 1
	}
	d, err := e.audit.RecordRestore(ctx, "admin", rep.Manifest.TakenAt, lostTo)
	database.CloseCleanly(e.db, e.cfg.Database, e.cfg.Data, storeName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay restore: audit record:", err)
		return 1
	}
	fmt.Printf("Gendannet fra sikkerhedskopien taget %s.\n", rep.Manifest.TakenAt.Format(time.RFC3339))
	if rep.ReplacedDir != "" {
		fmt.Printf("Det hidtidige lager er lagt til side i %s (intet er slettet).\n", rep.ReplacedDir)
	}
	if d.LostTo >= d.LostFrom {
		fmt.Printf("LOG-modulet: række %d–%d efter sikkerhedskopien er tabt; det er noteret i loggen.\n", d.LostFrom, d.LostTo)
	}
	fmt.Printf("%d forsendelse(r) venter og bliver sendt nu.\n", len(rep.Pending))
	if len(rep.Resent) > 0 {
		fmt.Printf("%d af dem var leveret efter sikkerhedskopien og sendes igen med samme MeMo messageUUID (Digital Post afviser dubletter):\n", len(rep.Resent))
		for _, id := range rep.Resent {
			fmt.Println("  " + id)
		}
	}
	if len(rep.Lost) > 0 {
		fmt.Printf("%d forsendelse(r) blev modtaget efter sikkerhedskopien og findes ikke i den. De ligger i det tilsidelagte lager; afsendernes Send sikkert viser dem som ikke sendt og beder om at sende dem igen:\n", len(rep.Lost))
		for _, id := range rep.Lost {
			fmt.Println("  " + id)
		}
	}
	return 0
}
