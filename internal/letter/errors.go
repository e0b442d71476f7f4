package letter

import (
	"errors"
	"image/jpeg"
	"image/png"
	"io"
)

// ErrUnprintable marks an error in the job itself: an address that does
// not fit the window, an attachment that is not what it claims or cannot
// be read as a PDF or image, an invalid job name. Retrying cannot help, so
// a delivery channel reports it as permanent; any other error (disk full,
// a folder missing, an attachment store that failed) may pass.
var ErrUnprintable = errors.New("letter cannot be printed")

// unprintableError keeps the detailed message and adds ErrUnprintable to
// what errors.Is finds.
type unprintableError struct{ err error }

func (e unprintableError) Error() string   { return e.err.Error() }
func (e unprintableError) Unwrap() []error { return []error{e.err, ErrUnprintable} }

func unprintable(err error) error { return unprintableError{err} }

// badContent reports whether an image decoder's error means the data is
// broken, rather than that reading it failed.
func badContent(err error) bool {
	var jf jpeg.FormatError
	var ju jpeg.UnsupportedError
	var pf png.FormatError
	var pu png.UnsupportedError
	return errors.As(err, &jf) || errors.As(err, &ju) || errors.As(err, &pf) || errors.As(err, &pu) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrUnprintable)
}
