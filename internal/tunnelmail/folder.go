package tunnelmail

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/vault"
)

// Folder is the demo tunnelmail: it writes each message as an .eml file
// into Dir instead of sending it, because a demo has no recipient's mail
// server to talk to. The file is what would have been sent over TLS.
type Folder struct {
	Dir  string
	From string
}

// Deliver writes Dir/<MemoUUID>.eml; a retry overwrites the same file.
func (f Folder) Deliver(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	name := filepath.Join(f.Dir, d.MemoUUID+".eml")
	err := vault.WriteFile(name, 0o600, func(w io.Writer) error { return WriteMessage(w, f.From, d) })
	if err != nil {
		return delivery.Receipt{}, fmt.Errorf("tunnelmail demo: %w", err)
	}
	return delivery.Receipt{Status: delivery.Delivered, Reference: name}, nil
}
