package letter

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/validate"
)

// pdfcpuOnce switches off pdfcpu's configuration directory before first
// use. Left on, pdfcpu's default configuration creates pdfcpu/ (config.yml,
// fonts, certificates) under the user's config directory the first time
// it is asked for one; an agent on a clerk's PC must not litter the
// profile, and we use no pdfcpu feature that needs the directory.
var pdfcpuOnce sync.Once

func pdfcpuConfig() *model.Configuration {
	// What pdfcpu's api.DisableConfigDir does; the api package itself is
	// not imported: its initialisation alone costs the agent ~2.5 MiB.
	pdfcpuOnce.Do(func() { model.ConfigPath = "disable" })
	conf := model.NewDefaultConfiguration()
	conf.Cmd = model.MERGECREATE
	// Relaxed: attachments come from the real world, and a printer only
	// needs the pages to render, not the file to be pedantically valid.
	conf.ValidationMode = model.ValidationRelaxed
	conf.CreateBookmarks = false
	conf.OptimizeBeforeWriting = false
	// Never reach out to the network (certificate revocation of signed
	// PDFs): printing a letter must not depend on it, nor leak it.
	conf.Offline = true
	return conf
}

// mergePDFs concatenates the parts' pages in order and writes one PDF to w.
// It returns the number of pages. pdfcpu holds each parsed part in memory;
// parts are read one at a time and folded into the first.
func mergePDFs(w io.Writer, parts []mergePart) (pages int, err error) {
	// A malformed attachment must fail the letter, not crash the agent:
	// pdfcpu reports some input errors by panicking.
	defer func() {
		if r := recover(); r != nil {
			pages, err = 0, unprintable(fmt.Errorf("letter: merge PDF: %v", r))
		}
	}()
	conf := pdfcpuConfig()
	dest, err := readAndValidate(parts[0].rs, conf)
	if err != nil {
		return 0, fmt.Errorf("letter: read %q: %w", parts[0].name, err)
	}
	dest.EnsureVersionForWriting()
	for _, p := range parts[1:] {
		src, err := readSource(p.rs)
		if err != nil {
			return 0, unprintable(fmt.Errorf("letter: read attachment %q: %w", p.name, err))
		}
		if dest.XRefTable.Version() < model.V20 && src.XRefTable.Version() == model.V20 {
			return 0, unprintable(fmt.Errorf("letter: attachment %q is PDF 2.0, which cannot be merged", p.name))
		}
		if err := pdfcpu.MergeXRefTables(p.name, src, dest, false, false); err != nil {
			return 0, unprintable(fmt.Errorf("letter: merge attachment %q: %w", p.name, err))
		}
	}
	tagSubsets(dest)
	if err := writeContext(dest, w); err != nil {
		return 0, err
	}
	return dest.PageCount, nil
}

// writeContext writes a parsed PDF to w.
func writeContext(ctx *model.Context, w io.Writer) error {
	bw := bufio.NewWriter(w)
	ctx.Write.Writer = bw
	if err := pdfcpu.WriteContext(ctx); err != nil {
		return fmt.Errorf("letter: write PDF: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("letter: write PDF: %w", err)
	}
	return nil
}

// readAndValidate reads and validates a PDF the way pdfcpu's
// api.ReadAndValidate does for a merge (no signature handling needed).
func readAndValidate(rs io.ReadSeeker, conf *model.Configuration) (*model.Context, error) {
	ctx, err := pdfcpu.Read(rs, conf)
	if err != nil {
		return nil, fmt.Errorf("read context: %w", err)
	}
	if err := validate.XRefTable(ctx); err != nil {
		return nil, fmt.Errorf("validation: %w", err)
	}
	return ctx, nil
}

// readSource parses an attachment. pdfcpu refuses encrypted input when
// asked to merge, but many PDFs from authorities and banks are encrypted
// with an empty user password, only to restrict editing: anyone may open
// and print them. Those are read as for validation, which decrypts them
// with the empty password, and their encryption is dropped, as printing
// on paper drops it. A PDF that needs a password to open still fails.
func readSource(rs io.ReadSeeker) (*model.Context, error) {
	src, err := readAndValidate(rs, pdfcpuConfig())
	if err == nil || !errors.Is(err, pdfcpu.ErrEncrypted) {
		return src, err
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	conf := pdfcpuConfig()
	conf.Cmd = model.VALIDATE
	src, err = readAndValidate(rs, conf)
	if err != nil {
		return nil, err
	}
	src.Encrypt, src.E = nil, nil
	src.Configuration.Cmd = model.MERGECREATE
	return src, nil
}
