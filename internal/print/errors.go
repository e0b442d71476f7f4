package print

import "sendsikkert/internal/letter"

// ErrUnprintable marks an error in the job itself (a bad job name, an
// address that does not fit the window, an attachment that is not what it
// claims): retrying cannot help, so a delivery channel reports it as
// permanent. It is the letter typesetter's own sentinel, so one errors.Is
// finds both the typesetter's and the transports' refusals.
var ErrUnprintable = letter.ErrUnprintable

// unprintableError keeps the detailed message and adds ErrUnprintable to
// what errors.Is finds.
type unprintableError struct{ err error }

func (e unprintableError) Error() string   { return e.err.Error() }
func (e unprintableError) Unwrap() []error { return []error{e.err, ErrUnprintable} }

func unprintable(err error) error { return unprintableError{err} }
