package attachment

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// MaxConvertBytes bounds a file we convert: text this long is already
// thousands of pages, and the whole of it is held in memory to set it.
const MaxConvertBytes = 5 << 20

// ErrTooLargeToConvert is the error of a Prepare body that read past
// MaxConvertBytes of a file that is to be converted.
var ErrTooLargeToConvert = errors.New("attachment: too large to convert to PDF")

// A Converter writes the PDF a ConvertPDF decision promises from the
// file's content. Only the relay has one (package topdf): the agent
// stores such a file as it is and the relay converts it, so the desktop
// carries no typesetter.
type Converter func(w io.Writer, d Decision, r io.Reader, created time.Time) error

// Prepare decides about an attachment as it arrives and returns the
// decision and the content to store. A refusal returns a nil reader; the
// caller answers 4xx with its Message and queues nothing. An error is a
// failure to read, not a verdict on the file.
//
// For a format we convert, with convert set, the content is the PDF and
// d.Filename and d.ContentType name it; a file too large to convert, or
// one the converter fails on, is refused (attachment_too_large_to_convert,
// attachment_not_converted). With convert nil, the content is the file as
// it is, to be stored under d.Source and d.Format.MediaType and converted
// later; reading it past MaxConvertBytes fails with ErrTooLargeToConvert,
// which the caller answers with TooLargeToConvert.
func Prepare(name, declared string, r io.Reader, index int, now time.Time, convert Converter) (Decision, io.Reader, error) {
	br := bufio.NewReaderSize(r, SniffLen)
	head, err := br.Peek(SniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Decision{}, nil, err
	}
	d := Decide(name, declared, head, index)
	switch d.Action {
	case Refuse:
		return d, nil, nil
	case ConvertPDF:
		if convert == nil {
			return d, &convertLimit{r: br}, nil
		}
		// Read it all first, so that a body cut short is told apart from
		// a file the converter cannot set.
		data, err := io.ReadAll(io.LimitReader(br, MaxConvertBytes+1))
		if err != nil {
			return Decision{}, nil, err
		}
		if len(data) > MaxConvertBytes {
			return d.TooLargeToConvert(), nil, nil
		}
		var buf bytes.Buffer
		if err := convert(&buf, d, bytes.NewReader(data), now); err != nil {
			return d.NotConverted(err), nil, nil
		}
		return d, &buf, nil
	}
	return d, br, nil
}

// TooLargeToConvert turns a ConvertPDF decision into the refusal of a
// file over MaxConvertBytes.
func (d Decision) TooLargeToConvert() Decision {
	d.Action, d.Code = Refuse, "attachment_too_large_to_convert"
	d.Message = "Bilaget »" + d.Source + "« er en " + d.Format.Name + "-fil, som skal laves om til PDF, før Digital Post kan modtage den, men den er for stor til det (over 5 MB). Gem den som PDF, og vedhæft den igen."
	return d
}

// NotConverted turns a ConvertPDF decision into the refusal of a file the
// converter failed on. It is definitive: the same bytes fail again.
func (d Decision) NotConverted(err error) Decision {
	d.Action, d.Code = Refuse, "attachment_not_converted"
	d.Message = "Bilaget »" + d.Source + "« er en " + d.Format.Name + "-fil, som skal laves om til PDF, før Digital Post kan modtage den, men det lykkedes ikke. Gem den som PDF, og vedhæft den igen."
	d.err = err
	return d
}

// Err is why a file was not converted (NotConverted), for the log.
func (d Decision) Err() error {
	if d.err == nil {
		return nil
	}
	return fmt.Errorf("attachment: convert %s: %w", d.Source, d.err)
}

// convertLimit passes on at most MaxConvertBytes of a file to convert
// later and fails with ErrTooLargeToConvert past them.
type convertLimit struct {
	r io.Reader
	n int64
}

func (l *convertLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > MaxConvertBytes {
		return n, ErrTooLargeToConvert
	}
	return n, err
}

// LeavesAs is the name and media type a stored file leaves the relay
// with: a file the agent stored as it is for the relay to convert (under
// Decision.Source and its format's media type) leaves as a PDF; any other
// file as it is.
func LeavesAs(filename, contentType string) (string, string) {
	if f := byMediaType(contentType); f != nil && f.Action == ConvertPDF {
		return WithExt(filename, ".pdf"), "application/pdf"
	}
	return filename, contentType
}
