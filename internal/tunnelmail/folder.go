package tunnelmail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"sendsikkert/internal/delivery"
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
	tmp, err := os.CreateTemp(f.Dir, ".tunnelmail-*")
	if err != nil {
		return delivery.Receipt{}, fmt.Errorf("tunnelmail demo: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := WriteMessage(tmp, f.From, d); err != nil {
		tmp.Close()
		return delivery.Receipt{}, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return delivery.Receipt{}, fmt.Errorf("tunnelmail demo: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return delivery.Receipt{}, fmt.Errorf("tunnelmail demo: %w", err)
	}
	name := filepath.Join(f.Dir, d.MemoUUID+".eml")
	if err := os.Rename(tmp.Name(), name); err != nil {
		return delivery.Receipt{}, fmt.Errorf("tunnelmail demo: %w", err)
	}
	return delivery.Receipt{Status: delivery.Delivered, Reference: name}, nil
}
