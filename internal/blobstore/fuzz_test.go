package blobstore

import (
	"bytes"
	"io"
	"log/slog"
	"mime/multipart"
	"os"
	"testing"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

// FuzzUploadReader feeds multipart bodies to the attachment reader the
// agent's submit and the relay use. Whatever the body: no panic; on
// success every file reads back with its recorded size, within the
// limits; on refusal no blob is left behind.
func FuzzUploadReader(f *testing.F) {
	const boundary = "sendsikkert-fuzz"
	part := func(name, filename, ct, body string) string {
		s := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\""
		if filename != "" {
			s += "; filename=\"" + filename + "\""
		}
		s += "\r\n"
		if ct != "" {
			s += "Content-Type: " + ct + "\r\n"
		}
		return s + "\r\n" + body + "\r\n"
	}
	end := "--" + boundary + "--\r\n"
	f.Add([]byte(end))
	f.Add([]byte(part("attachment", "afgørelse.pdf", "application/pdf", "%PDF-1.7 x") + end))
	f.Add([]byte(part("attachment", `..\..\Windows\evil.exe`, "", "MZ") + part("attachment", "b.txt", "text/plain", "hej") + end))
	f.Add([]byte(part("message", "", "application/json", "{}") + end))
	f.Add([]byte(part("attachment", "cut.pdf", "application/pdf", "%PDF")))                        // no closing boundary
	f.Add([]byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"attachment\"\r\n")) // headers cut
	f.Add([]byte(part("attachment", "=?utf-8?q?=C3=A6=C3=B8=C3=A5.pdf?=", "application/pdf; name=x", "") + end))
	key, _ := vault.New(bytes.Repeat([]byte{7}, 32))
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, body []byte) {
		dir := t.TempDir()
		b := Store{Dir: dir, Key: key}
		mr := multipart.NewReader(bytes.NewReader(body), boundary)
		files, _, e, status := b.ReadAttachments(mr, nil, nil, log)
		left, _ := os.ReadDir(dir)
		if e != nil {
			if status < 400 || e.Code == "" || e.Message == "" {
				t.Fatalf("refusal without status or words: %d %+v", status, e)
			}
			if len(left) != 0 {
				t.Fatalf("%d blobs left after a refusal", len(left))
			}
			return
		}
		if len(files) > relayapi.MaxAttachments || len(left) != len(files) {
			t.Fatalf("%d files, %d blobs", len(files), len(left))
		}
		var total int64
		for _, fl := range files {
			if fl.Filename == "" || bytes.ContainsAny([]byte(fl.Filename), "/\\\x00") {
				t.Fatalf("filename %q", fl.Filename)
			}
			rc, err := b.Open(fl.Blob)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil || n != fl.Size {
				t.Fatalf("%s reads back %d bytes (%v), recorded %d", fl.Filename, n, err, fl.Size)
			}
			total += n
		}
		if total > relayapi.MaxAttachmentBytes {
			t.Fatalf("%d bytes accepted", total)
		}
	})
}
