package print

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"sendsikkert/internal/letter"
	"sendsikkert/internal/vault"
)

// Job is one letter to one recipient.
type Job struct {
	Name      string // file base name; [A-Za-z0-9._-], see ValidateName
	MessageID string
	Letter    *letter.Letter
}

// maxNameLen keeps <Name>.json and the temp names well inside the 255-byte
// file name limit of common file systems.
const maxNameLen = 200

// windowsDevices are names Windows reserves in every directory; "NUL.pdf"
// would write to the null device, and the agent runs on Windows.
var windowsDevices = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
}

// ValidateName checks a job name: 1–200 characters from [A-Za-z0-9._-],
// not starting with '.' (hidden, and our temporary files start so) nor
// ending with '.' (Windows drops it), and not a Windows device name.
func ValidateName(name string) error {
	if name == "" {
		return unprintable(errors.New("print: job has no name"))
	}
	if len(name) > maxNameLen {
		return unprintable(fmt.Errorf("print: job name longer than %d characters", maxNameLen))
	}
	for _, c := range []byte(name) {
		if !(c|0x20 >= 'a' && c|0x20 <= 'z') && !(c >= '0' && c <= '9') && c != '.' && c != '_' && c != '-' {
			return unprintable(fmt.Errorf("print: job name %q has a character outside [A-Za-z0-9._-]", name))
		}
	}
	if name[0] == '.' || name[len(name)-1] == '.' {
		return unprintable(fmt.Errorf("print: job name %q starts or ends with '.'", name))
	}
	if stem, _, _ := strings.Cut(name, "."); windowsDevices[strings.ToUpper(stem)] {
		return unprintable(fmt.Errorf("print: job name %q is a reserved device name on Windows", name))
	}
	return nil
}

// HotFolder hands letters to a print agent that watches a folder: <Name>.pdf
// plus <Name>.json metadata. In demo mode the folder is the "printer".
type HotFolder struct{ Dir string }

// Metadata is the content of <Name>.json.
type Metadata struct {
	MessageID  string           `json:"messageId"`
	PDF        string           `json:"pdf"`        // file name of the letter, beside the .json
	SHA256     string           `json:"sha256"`     // of the PDF, so the agent can tell it is the one we wrote
	Bytes      int64            `json:"bytes"`      // size of the PDF
	Pages      int              `json:"pages"`      // all pages, cover letter and attachments
	CoverPages int              `json:"coverPages"` // pages of the cover letter
	Recipient  MetadataAddress  `json:"recipient"`
	Sender     *MetadataAddress `json:"sender,omitempty"`
	Subject    string           `json:"subject,omitempty"`
	CreatedAt  time.Time        `json:"createdAt"`
}

// MetadataAddress is an address in the metadata.
type MetadataAddress struct {
	Name    string   `json:"name"`
	Address []string `json:"address"`
}

// Print writes Dir/<Name>.pdf and Dir/<Name>.json atomically: each is
// written to a temporary file in Dir, synced and renamed into place. The
// .json is renamed last so a watcher that triggers on .json always finds a
// complete PDF. Printing the same Job twice overwrites the same two files,
// so a retry never makes a second letter while the first is still waiting.
func (h HotFolder) Print(ctx context.Context, job Job) error {
	if err := ValidateName(job.Name); err != nil {
		return err
	}
	if job.Letter == nil {
		return unprintable(fmt.Errorf("print: job %s has no letter", job.Name))
	}
	if h.Dir == "" {
		return errors.New("print: hot folder has no directory")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("print: job %s: %w", job.Name, err)
	}

	var stats letter.Stats
	var size int64
	sum := sha256.New()
	pdfName := job.Name + ".pdf"
	err := writeAtomic(h.Dir, pdfName, func(f io.Writer) error {
		cw := &countWriter{w: io.MultiWriter(f, sum)}
		var err error
		stats, err = letter.Render(cw, job.Letter)
		size = cw.n
		return err
	})
	if err != nil {
		return fmt.Errorf("print: job %s: %w", job.Name, err)
	}
	if err := ctx.Err(); err != nil {
		// The PDF alone is harmless: without its .json no watcher acts on it,
		// and a retry overwrites it.
		return fmt.Errorf("print: job %s: %w", job.Name, err)
	}

	l := job.Letter
	meta := Metadata{
		MessageID:  job.MessageID,
		PDF:        pdfName,
		SHA256:     hex.EncodeToString(sum.Sum(nil)),
		Bytes:      size,
		Pages:      stats.Pages,
		CoverPages: stats.CoverPages,
		Recipient:  MetadataAddress{Name: l.Recipient.Name, Address: nonNil(l.Recipient.Lines)},
		Subject:    l.Subject,
		CreatedAt:  time.Now().UTC().Truncate(time.Second),
	}
	if l.Sender.Name != "" {
		meta.Sender = &MetadataAddress{Name: l.Sender.Name, Address: nonNil(l.Sender.Lines)}
	}
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("print: job %s: encode metadata: %w", job.Name, err)
	}
	data = append(data, '\n')
	err = writeAtomic(h.Dir, job.Name+".json", func(f io.Writer) error {
		_, err := f.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("print: job %s: %w", job.Name, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeAtomic creates dir/name with vault.WriteFile, so a crash leaves
// either the old file or the complete new one, and a watcher never sees a
// half-written one. The letter holds personal data: a print agent running
// as another user gets in through the folder's group, never the world.
func writeAtomic(dir, name string, write func(io.Writer) error) error {
	if err := vault.WriteFile(filepath.Join(dir, name), 0o640, write); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
