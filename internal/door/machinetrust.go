package door

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"

	"sendsikkert/internal/certs"
	"sendsikkert/internal/trust"
)

// MachineTrust is the machine-wide trust store the door puts its CA in:
// on Windows LocalMachine\Root, which every user's browsers and Office
// trust without a prompt. The door runs as SYSTEM, so it may write there;
// no user is ever asked.
type MachineTrust interface {
	Name() string
	Install(trust.CA) error
	Remove(trust.CA) error
	Trusted(trust.CA) (bool, error)
}

// renewCheck is how often the door asks whether its certificate series
// runs out within certs.RenewBefore (30 days).
const renewCheck = time.Hour

func (d *Door) now() time.Time {
	if d.cfg.Now != nil {
		return d.cfg.Now()
	}
	return time.Now()
}

// trustCA puts the identity's CA into the machine's trust store (when it
// is not there yet) and takes out the CA it replaced, so exactly one
// Send sikkert root is trusted. The CA's private key no longer exists:
// certs destroyed it after signing the series.
func (d *Door) trustCA(id *certs.Identity) error {
	t := d.cfg.Trust
	if t == nil {
		return nil // no machine-wide store here; users trust ca.crt themselves
	}
	ca, err := trust.LoadCA(d.CAFile)
	if err != nil {
		return err
	}
	ok, err := t.Trusted(ca)
	if err != nil {
		return fmt.Errorf("door: %s: %w", t.Name(), err)
	}
	if !ok {
		if err := t.Install(ca); err != nil {
			return fmt.Errorf("door: trust the machine CA in %s: %w", t.Name(), err)
		}
		d.log.Info("trusted the machine CA for every user", "store", t.Name(), "fingerprint", id.CAFingerprint)
	}
	if prev := id.PreviousCACertPEM; prev != nil {
		if b, _ := pem.Decode(prev); b != nil {
			if c, err := x509.ParseCertificate(b.Bytes); err == nil {
				if err := t.Remove(trust.CA{Cert: c}); err != nil {
					d.log.Warn("could not remove the replaced machine CA", "store", t.Name(), "err", err)
				} else {
					d.log.Info("removed the replaced machine CA", "store", t.Name(), "fingerprint", certs.Fingerprint(c.Raw))
				}
			}
		}
	}
	return nil
}

// renewIfDue makes a new CA and series, trusts it and serves it when the
// current series ends within certs.RenewBefore; the handshakes in flight
// keep the old leaf, the next ones get the new.
func (d *Door) renewIfDue() error {
	if !d.server.RenewalDue() {
		return nil
	}
	id, err := certs.LoadOrCreate(d.tlsDir, d.sealer, d.now())
	if err != nil {
		return fmt.Errorf("door: renew the machine certificate: %w", err)
	}
	if id.Created {
		d.log.Info("made a new machine CA before the old series ran out", "reason", id.Reason, "fingerprint", id.CAFingerprint)
	}
	if err := d.trustCA(id); err != nil {
		return err
	}
	d.server.Use(id)
	return nil
}

// renewLoop checks for renewal until ctx ends.
func (d *Door) renewLoop(ctx context.Context) {
	tick := time.NewTicker(renewCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := d.renewIfDue(); err != nil {
				d.log.Error("machine certificate renewal failed; retrying in an hour", "err", err)
			}
		}
	}
}
