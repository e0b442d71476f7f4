package blobstore

import (
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"

	"sendsikkert/internal/relayapi"
)

// File is an attachment kept as an encrypted blob.
type File struct {
	relayapi.FileInfo
	Blob string `json:"blob"`
}

// ReadAttachments streams the remaining "attachment" parts into encrypted
// blobs, enforcing the Digital Post limits as it goes: it answers 413 as
// soon as a limit is crossed, without reading the rest. printable, when
// set, refuses files that cannot follow a printed letter. On error no
// blob is left behind.
func (b Store) ReadAttachments(mr *multipart.Reader, printable func(contentType, filename string) bool, log *slog.Logger) ([]File, *relayapi.Error, int) {
	var files []File
	var total int64
	bail := func(e *relayapi.Error, status int) ([]File, *relayapi.Error, int) {
		for _, f := range files {
			b.Remove(f.Blob)
		}
		return nil, e, status
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return files, nil, 0
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bail(relayapi.TooLarge(false), http.StatusRequestEntityTooLarge)
		}
		if err != nil {
			return bail(&relayapi.Error{Code: "bad_multipart", Message: "Forsendelsen blev afbrudt eller kunne ikke læses."}, http.StatusBadRequest)
		}
		if part.FormName() != "attachment" {
			part.Close()
			return bail(&relayapi.Error{Code: "bad_part", Message: "Ukendt del i forsendelsen: " + part.FormName()}, http.StatusBadRequest)
		}
		if len(files) == relayapi.MaxAttachments {
			part.Close()
			return bail(relayapi.TooLarge(true), http.StatusRequestEntityTooLarge)
		}
		name := relayapi.CleanFilename(part.FileName(), len(files))
		ct := relayapi.ContentType(part.Header.Get("Content-Type"), name)
		if printable != nil && !printable(ct, name) {
			part.Close()
			return bail(&relayapi.Error{Code: "not_printable", Message: "Bilaget »" + name + "« kan ikke udskrives. Kun PDF-filer kan følge et brev via OneTooX."}, http.StatusBadRequest)
		}
		blob, f, err := b.Create()
		if err != nil {
			part.Close()
			log.Error("create blob failed", "err", err)
			return bail(relayapi.StorageFailure(err))
		}
		// A failed write is the relay's disk, not the sender's upload:
		// told apart, it is answered "try again" (503/507), not 400.
		dst := &writeErr{w: f}
		n, err := io.Copy(dst, io.LimitReader(part, relayapi.MaxAttachmentBytes-total+1))
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
			return bail(&relayapi.Error{Code: "bad_multipart", Message: "Bilaget »" + name + "« blev ikke modtaget helt."}, http.StatusBadRequest)
		}
		if err := f.Commit(); err != nil {
			log.Error("commit blob failed", "err", err)
			return bail(relayapi.StorageFailure(err))
		}
		files = append(files, File{FileInfo: relayapi.FileInfo{Filename: name, ContentType: ct, Size: n}, Blob: blob})
	}
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
