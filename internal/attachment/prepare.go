package attachment

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"time"
)

// Prepare decides about an attachment as it arrives and returns the
// content to store: the file itself, read on from where the decision
// looked, or — for a format we convert — the PDF. A refusal returns the
// decision and a nil reader; the caller answers 4xx with its Message and
// queues nothing. A file too large to convert is refused the same way. An
// error is a failure to read, not a verdict on the file.
func Prepare(name, declared string, r io.Reader, index int, now time.Time) (Decision, io.Reader, error) {
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
		var buf bytes.Buffer
		if err := Convert(&buf, d, br, now); err != nil {
			if errors.Is(err, ErrTooLargeToConvert) {
				d.Action, d.Code = Refuse, "attachment_too_large_to_convert"
				d.Message = "Bilaget »" + CleanName(name, index) + "« er en " + d.Format.Name + "-fil, som skal laves om til PDF, før Digital Post kan modtage den, men den er for stor til det (over 5 MB). Gem den som PDF, og vedhæft den igen."
				return d, nil, nil
			}
			return Decision{}, nil, err
		}
		return d, &buf, nil
	}
	return d, br, nil
}
