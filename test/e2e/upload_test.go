package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (a *agentProc) raw(method, path string, body []byte, ct string) (int, map[string]any) {
	a.t.Helper()
	resp, err := a.client.Do(a.request(method, path, bytes.NewReader(body), ct))
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// TestSlicedUpload: a document sent in 4 MB slices, with a slice lost and
// resumed at the next missing one, arrives byte-identical as the MeMo's
// attachment.
func TestSlicedUpload(t *testing.T) {
	data := t.TempDir()
	a := startAgent(t, data, freePort(t))
	doc := make([]byte, 9<<20+123)
	rand.Read(doc)
	copy(doc, "PK\x03\x04") // a .docx is a ZIP: the agent looks at the content
	sum := sha256.Sum256(doc)
	const slice = 4 << 20
	body, _ := json.Marshal(map[string]any{"filename": "Afgørelse.docx", "contentType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "size": len(doc)})
	code, up := a.raw("POST", "/api/v1/uploads", body, "application/json")
	if code != 201 {
		t.Fatalf("create: %d %v", code, up)
	}
	id := up["id"].(string)
	put := func(i int) int {
		end := min((i+1)*slice, len(doc))
		c, _ := a.raw("PUT", fmt.Sprintf("/api/v1/uploads/%s/%d", id, i), doc[i*slice:end], "application/octet-stream")
		return c
	}
	// Slice 0 and 2 arrive; slice 1 is "lost" with the connection.
	if put(0) != 200 || put(2) != 200 {
		t.Fatal("slice refused")
	}
	_, st := a.raw("GET", "/api/v1/uploads/"+id, nil, "")
	if st["next"].(float64) != 1 || st["complete"] != false {
		t.Fatalf("resume point: %v", st)
	}
	// A message cannot use an incomplete upload.
	code, out := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Dokument", "bodyHtml": "<p>Se dokumentet</p>", "idempotencyKey": "up-0", "uploadId": id})
	if code != 400 || out["error"] != "upload_incomplete" {
		t.Fatalf("incomplete upload used: %d %v", code, out)
	}
	if put(1) != 200 {
		t.Fatal("slice 1 refused")
	}
	// A slice too many is refused.
	if c, _ := a.raw("PUT", fmt.Sprintf("/api/v1/uploads/%s/%d", id, 3), []byte("x"), "application/octet-stream"); c != 413 {
		t.Fatalf("over-size slice: %d", c)
	}
	code, out = a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Dokument", "bodyHtml": "<p>Se dokumentet</p>", "idempotencyKey": "up-1", "uploadId": id})
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	if st := a.waitFinal(out["id"].(string), time.Minute); st.Status != "delivered" {
		t.Fatalf("status: %+v", st)
	}
	files := memoFiles(t, data)
	if len(files) != 1 {
		t.Fatalf("MeMo files: %v", files)
	}
	m := readMemo(t, files[0])
	if len(m.Additional) != 1 || m.Additional[0].SHA256 != hex.EncodeToString(sum[:]) || m.Additional[0].Filename != "Afgørelse.docx" {
		t.Fatalf("attachment: %+v", m.Additional)
	}
	// The upload is gone once the outbox has it.
	if c, _ := a.raw("GET", "/api/v1/uploads/"+id, nil, ""); c != http.StatusNotFound {
		t.Fatalf("upload kept: %d", c)
	}
	// Too large from the start.
	body, _ = json.Marshal(map[string]any{"filename": "stor.pdf", "size": 104_333_313})
	if c, _ := a.raw("POST", "/api/v1/uploads", body, "application/json"); c != 413 {
		t.Fatalf("oversize upload: %d", c)
	}
}

// TestUploadJudgedByContent: a document shared in slices is judged as an
// attachment is — a PDF named Notat.docx leaves as Notat.pdf, a program
// is refused with a Danish message naming it and nothing is queued.
func TestUploadJudgedByContent(t *testing.T) {
	data := t.TempDir()
	a := startAgent(t, data, freePort(t))
	share := func(name, ct string, doc []byte, key string) (int, map[string]any) {
		body, _ := json.Marshal(map[string]any{"filename": name, "contentType": ct, "size": len(doc)})
		code, up := a.raw("POST", "/api/v1/uploads", body, "application/json")
		if code != 201 {
			t.Fatalf("create: %d %v", code, up)
		}
		id := up["id"].(string)
		if c, _ := a.raw("PUT", fmt.Sprintf("/api/v1/uploads/%s/0", id), doc, "application/octet-stream"); c != 200 {
			t.Fatalf("slice: %d", c)
		}
		return a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Dokument", "bodyHtml": "<p>Se dokumentet</p>", "idempotencyKey": key, "uploadId": id})
	}
	code, out := share("værktøj.exe", "application/octet-stream", []byte("MZ\x90\x00\x03\x00\x00\x00"), "judge-1")
	if code != 415 || out["error"] != "attachment_executable" || !strings.Contains(fmt.Sprint(out["message"]), "»værktøj.exe«") {
		t.Fatalf("program: %d %v", code, out)
	}
	// The same at the agent's multipart submit: an empty file, an archive.
	code, out = a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Tom", "bodyHtml": "x", "idempotencyKey": "judge-3"},
		file{"tom.pdf", "application/pdf", func() io.Reader { return strings.NewReader("") }})
	if code != 400 || out["error"] != "attachment_empty" || !strings.Contains(fmt.Sprint(out["message"]), "»tom.pdf«") {
		t.Fatalf("empty file: %d %v", code, out)
	}
	code, out = a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Arkiv", "bodyHtml": "x", "idempotencyKey": "judge-4"},
		file{"filer.zip", "application/zip", func() io.Reader { return strings.NewReader("PK\x03\x04\x14\x00\x00\x00") }})
	if code != 415 || out["error"] != "attachment_archive" {
		t.Fatalf("archive: %d %v", code, out)
	}
	if n := len(memoFiles(t, data)); n != 0 {
		t.Fatalf("a refused send left %d MeMo files", n)
	}
	code, out = share("Notat.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", minimalPDF(), "judge-2")
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	if st := a.waitFinal(out["id"].(string), time.Minute); st.Status != "delivered" {
		t.Fatalf("status: %+v", st)
	}
	files := memoFiles(t, data)
	if len(files) != 1 {
		t.Fatalf("MeMo files: %v", files)
	}
	if m := readMemo(t, files[0]); len(m.Additional) != 1 || m.Additional[0].Filename != "Notat.pdf" {
		t.Fatalf("attachment: %+v", m.Additional)
	}
}
