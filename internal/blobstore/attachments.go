package blobstore

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/maindoc"
	"sendsikkert/internal/relayapi"
)

// File is an attachment kept as an encrypted blob.
type File struct {
	relayapi.FileInfo
	Blob string `json:"blob"`
}

// ReadAttachments streams the remaining "attachment" parts into encrypted
// blobs, enforcing the Digital Post limits as it goes: it answers 413 as
// soon as a limit is crossed, without reading the rest. Each file is
// judged by attachment.Prepare as it arrives: a format Digital Post does
// not take is converted to PDF where that is faithful and otherwise
// refused (415, or 400 for an empty file) with a Danish message naming the
// file; its name is cleaned and made distinct from the others'. With
// convert nil (the agent) a file to convert is judged the same, refused
// the same when too large to convert, and stored as it is under its
// Source name and its format's media type, for the relay's ReadAttachments
// to convert. printable, when set, refuses files that cannot follow a
// printed letter, as they leave (a converted file is a PDF). On error no
// blob is left behind.
//
// Parts named "inline" are the pictures the body refers to by cid: (a
// signature's logo, as Outlook keeps it), with a Content-ID header; they
// are returned in memory, for maindoc.Prepare to embed, and count against
// the same limits. Only PNG, JPEG and GIF are taken, by content.
func (b Store) ReadAttachments(mr *multipart.Reader, printable func(contentType, filename string) bool, convert attachment.Converter, log *slog.Logger) ([]File, []maindoc.Inline, *relayapi.Error, int) {
	var files []File
	var inline []maindoc.Inline
	var total int64
	var names attachment.Names
	bail := func(e *relayapi.Error, status int) ([]File, []maindoc.Inline, *relayapi.Error, int) {
		for _, f := range files {
			b.Remove(f.Blob)
		}
		return nil, nil, e, status
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return files, inline, nil, 0
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bail(relayapi.TooLarge(false), http.StatusRequestEntityTooLarge)
		}
		if err != nil {
			return bail(&relayapi.Error{Code: "bad_multipart", Message: "Forsendelsen blev afbrudt eller kunne ikke læses."}, http.StatusBadRequest)
		}
		if part.FormName() == "inline" {
			in, e, status := readInline(part, len(inline), relayapi.MaxAttachmentBytes-total)
			part.Close()
			if e != nil {
				return bail(e, status)
			}
			total += int64(len(in.Data))
			inline = append(inline, in)
			continue
		}
		if part.FormName() != "attachment" {
			part.Close()
			return bail(&relayapi.Error{Code: "bad_part", Message: "Ukendt del i forsendelsen: " + part.FormName()}, http.StatusBadRequest)
		}
		if len(files) == relayapi.MaxAttachments {
			part.Close()
			return bail(relayapi.TooLarge(true), http.StatusRequestEntityTooLarge)
		}
		d, body, err := attachment.Prepare(part.FileName(), part.Header.Get("Content-Type"), io.LimitReader(part, relayapi.MaxAttachmentBytes-total+1), len(files), time.Now(), convert)
		if err != nil {
			part.Close()
			if errors.As(err, &mbe) {
				return bail(relayapi.TooLarge(false), http.StatusRequestEntityTooLarge)
			}
			log.Warn("attachment not read", "err", err)
			return bail(&relayapi.Error{Code: "bad_multipart", Message: "Bilaget »" + attachment.CleanName(part.FileName(), len(files)) + "« blev ikke modtaget helt."}, http.StatusBadRequest)
		}
		if d.Action == attachment.Refuse {
			part.Close()
			if err := d.Err(); err != nil {
				log.Warn("attachment not converted", "err", err)
			}
			status := http.StatusUnsupportedMediaType
			if d.Code == "attachment_empty" {
				status = http.StatusBadRequest
			}
			return bail(&relayapi.Error{Code: d.Code, Message: d.Message}, status)
		}
		// The name it leaves with decides printing; without a converter
		// it is stored as it is, under a name and type that make the
		// relay decide the same again (Decision.Source) and convert it.
		stored, ct := d.Filename, d.ContentType
		if d.Action == attachment.ConvertPDF && convert == nil {
			stored, ct = d.Source, d.Format.MediaType
		}
		name := names.Unique(stored)
		if printable != nil && !printable(d.ContentType, d.Filename) {
			part.Close()
			return bail(&relayapi.Error{Code: "not_printable", Message: "Bilaget »" + name + "« kan ikke udskrives. Kun PDF-filer og billeder (JPEG, PNG) kan følge et brev via OneTooX. Gem det som PDF, og vedhæft det igen."}, http.StatusBadRequest)
		}
		blob, f, err := b.CreateSmall()
		if err != nil {
			part.Close()
			log.Error("create blob failed", "err", err)
			return bail(relayapi.StorageFailure(err))
		}
		// A failed write is the relay's disk, not the sender's upload:
		// told apart, it is answered "try again" (503/507), not 400.
		dst := &writeErr{w: f}
		n, err := io.Copy(dst, body)
		part.Close()
		total += n
		if err == nil && total > relayapi.MaxAttachmentBytes {
			f.Abort()
			return bail(relayapi.TooLarge(false), http.StatusRequestEntityTooLarge)
		}
		if dst.err != nil {
			f.Abort()
			log.Error("write blob failed", "err", dst.err)
			return bail(relayapi.StorageFailure(dst.err))
		}
		if err != nil {
			f.Abort()
			if errors.As(err, &mbe) {
				return bail(relayapi.TooLarge(false), http.StatusRequestEntityTooLarge)
			}
			if errors.Is(err, attachment.ErrTooLargeToConvert) {
				r := d.TooLargeToConvert()
				return bail(&relayapi.Error{Code: r.Code, Message: r.Message}, http.StatusUnsupportedMediaType)
			}
			return bail(&relayapi.Error{Code: "bad_multipart", Message: "Bilaget »" + name + "« blev ikke modtaget helt."}, http.StatusBadRequest)
		}
		if err := f.Commit(); err != nil {
			log.Error("commit blob failed", "err", err)
			return bail(relayapi.StorageFailure(err))
		}
		files = append(files, File{FileInfo: relayapi.FileInfo{Filename: name, ContentType: ct, Size: n}, Blob: blob})
	}
}

// Limits on the pictures sent with the body.
const (
	maxInline      = 50
	maxInlineBytes = 10 << 20
)

// readInline reads one "inline" part into memory.
func readInline(part *multipart.Part, n int, room int64) (maindoc.Inline, *relayapi.Error, int) {
	if n == maxInline {
		return maindoc.Inline{}, &relayapi.Error{Code: "too_many_inline", Message: fmt.Sprintf("Teksten har for mange indsatte billeder. Der kan højst være %d.", maxInline)}, http.StatusRequestEntityTooLarge
	}
	cid := strings.Trim(strings.TrimSpace(part.Header.Get("Content-ID")), "<>")
	if cid == "" {
		return maindoc.Inline{}, &relayapi.Error{Code: "inline_without_id", Message: "Et billede i teksten blev sendt uden sit Content-ID."}, http.StatusBadRequest
	}
	data, err := io.ReadAll(io.LimitReader(part, min(room, maxInlineBytes)+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || int64(len(data)) > room {
		return maindoc.Inline{}, relayapi.TooLarge(false), http.StatusRequestEntityTooLarge
	}
	if err != nil {
		return maindoc.Inline{}, &relayapi.Error{Code: "bad_multipart", Message: "Et billede i teksten blev ikke modtaget helt."}, http.StatusBadRequest
	}
	if len(data) > maxInlineBytes {
		return maindoc.Inline{}, &relayapi.Error{Code: "inline_too_large", Message: "Et billede i teksten er for stort (over 10 MB). Gør det mindre, og prøv igen."}, http.StatusRequestEntityTooLarge
	}
	// The content says what it is; a part that is no picture is simply
	// not one the body can show, and maindoc removes its reference.
	ct := ""
	switch attachment.Sniff(data) {
	case "png":
		ct = "image/png"
	case "jpeg":
		ct = "image/jpeg"
	case "gif":
		ct = "image/gif"
	}
	return maindoc.Inline{ContentID: cid, ContentType: ct, Data: data}, nil, 0
}

// writeErr remembers the error of the writer it wraps, so a copy's error
// can be blamed on the right side.
type writeErr struct {
	w   io.Writer
	err error
}

func (w *writeErr) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}
