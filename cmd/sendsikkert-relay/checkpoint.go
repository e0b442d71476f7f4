package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"sendsikkert/internal/audit"
	"sendsikkert/internal/receipt"
)

// checkpointEvery is how often serve anchors the audit log.
const checkpointEvery = 24 * time.Hour

// checkpointNow signs the audit log's head, writes the checkpoint to
// audit.checkpointDir and mails it to audit.checkpointTo. A failed mail
// is reported but the written file stands.
func checkpointNow(ctx context.Context, e *env, mailer *receipt.Mailer) (audit.Checkpoint, string, error) {
	cp, err := e.audit.Checkpoint(ctx)
	if err != nil {
		return cp, "", err
	}
	path, err := audit.WriteCheckpoint(e.cfg.Audit.CheckpointDir, cp)
	if err != nil {
		return cp, "", err
	}
	var mailErr error
	for _, to := range e.cfg.Audit.CheckpointTo {
		if mailer == nil {
			mailErr = fmt.Errorf("audit checkpoint: no smtp to mail %s", to)
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := mailer.Send(sctx, to, checkpointMail(mailer.From, to, cp, e.audit.PublicKeyPEM())); err != nil {
			mailErr = fmt.Errorf("audit checkpoint: mail to %s: %w", to, err)
		}
		cancel()
	}
	return cp, path, mailErr
}

// checkpointMail is the auditor's copy: the checkpoint file's content and
// the public key it is checked with.
func checkpointMail(from, to string, cp audit.Checkpoint, pub []byte) []byte {
	body := fmt.Sprintf(`Kontrolpunkt for LOG-modulet i Send sikkert

Tidspunkt: %s
Rækker i loggen: %d
Seneste række: %d

Gem teksten mellem linjerne som en fil (fx %s), og kontrollér loggen mod den med
  sendsikkert-relay audit verify --checkpoint %s --config relay.yaml
Kontrolpunktet er signeret med Ed25519; den offentlige nøgle står nederst
(også: sendsikkert-relay audit checkpoint-key). Signaturen dækker teksten
"sendsikkert audit checkpoint v1", seq, count, head og at, én pr. linje.

-----
%s-----

%s`, cp.At.Format(time.RFC3339), cp.Count, cp.Seq, cp.FileName(), cp.FileName(), cp.Marshal(), pub)
	return receipt.Mail(from, "Send sikkert", to, "LOG-modulet: kontrolpunkt "+cp.At.Format("2006-01-02"), time.Now(), body,
		receipt.Header{Name: "X-Sendsikkert-Checkpoint", Value: fmt.Sprintf("%d", cp.Seq)})
}

// checkpoints anchors the log at start and then daily until ctx ends.
func checkpoints(ctx context.Context, e *env, mailer *receipt.Mailer, log *slog.Logger) {
	for {
		if cp, path, err := checkpointNow(ctx, e, mailer); err != nil {
			log.Error("audit checkpoint", "err", err, "file", path)
		} else {
			log.Info("audit checkpoint written", "seq", cp.Seq, "file", path, "mailed", len(e.cfg.Audit.CheckpointTo))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(checkpointEvery):
		}
	}
}
