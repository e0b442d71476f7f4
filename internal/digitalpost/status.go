package digitalpost

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"sendsikkert/internal/delivery"
)

// Digital Post has no service to ask what became of a message. It tells:
// each step (delivered to the mailbox, letter printed, failed) is a
// status message (PKO_PostStatus, namespace
// http://serviceplatformen.dk/xml/print/PKO_PostStatus/1/types) sent
// through Beskedfordeleren in a Haendelsesbesked envelope, its data
// base64 in Beskeddata/Base64 (namespace urn:besked:kuvert:1.0). The
// organisation receives them pushed to its PostStatusBeskedModtag
// endpoint, or fetches them from its queue (AMQP). StatusBook takes them
// in (ServeHTTP or Record) and answers the relay's Follower questions.

// Namespaces of status messages.
const (
	nsPostStatus  = "http://serviceplatformen.dk/xml/print/PKO_PostStatus/1/types"
	nsBeskedData  = "urn:besked:kuvert:1.0"
	nsKuvert      = "urn:oio:besked:kuvert:1.0"
	maxStatusSize = 1 << 20
)

// Events (Beskedfordeleren's ObjektHandling UUIDs for SF1601) and what
// they mean for the delivery.
var statusEvents = map[string]struct {
	name   string
	status delivery.Status
}{
	"f7161a89-5068-4023-bc80-d7f4daad2a2e": {"Afleveret Digital Post", delivery.Delivered},
	"eb866ca2-b871-4387-b501-12cde577bd58": {"Modtaget Digital Post", delivery.Delivered},
	"e225a75c-4b63-46c4-9423-77f5c8762445": {"Fejlet", delivery.Failed},
	"dd98e71c-41ac-4305-a47b-8f86b00e639b": {"Modtaget Fjern-print", delivery.Accepted},
	"e2b30d57-504a-4e2e-ae2d-a1394a9cb0b8": {"Klar", delivery.Accepted},
	"e3c0a021-2070-40d4-b7b7-754aeba762e9": {"Afleveret til print og kuvertering", delivery.Printed},
	"db5a6025-caa3-45c3-8e02-4e6fa8142ade": {"Afsendt", delivery.Printed},
	"e94a0a8b-60a0-42ad-8b83-52c9e15d0fb3": {"Modtaget Post Danmark", delivery.Printed},
	"f03904aa-df6e-417f-bd74-6a01a61adbcf": {"Tilbagekaldt", delivery.Failed},
	"f4e6eb11-0261-4198-8b5d-be92a9b1a35d": {"Opdatering fra Post Danmark", ""},
}

// StatusEvent is one status message, as far as following a delivery goes.
type StatusEvent struct {
	// Ref is the delivery's reference: the MeMo messageUUID, or for a
	// letter its AfsendelseIdentifikator (both are the MemoUUID).
	Ref string `json:"ref"`
	// Kanal is KanalKode: "Digital Post" or "Fysisk Post".
	Kanal string `json:"kanal,omitempty"`
	// Event names the envelope's event, when it has a known one.
	Event string `json:"event,omitempty"`
	// Code is TransaktionsStatusKode.
	Code string `json:"code,omitempty"`
	// ErrorCode and ErrorText are FejlDetaljer.
	ErrorCode string `json:"errorCode,omitempty"`
	ErrorText string `json:"errorText,omitempty"`
	// SenderSystem is AfsenderSystemIdentifikator.
	SenderSystem string `json:"senderSystem,omitempty"`
	// Status is what the event means for the delivery.
	Status delivery.Status `json:"status"`
	At     time.Time       `json:"at"`
}

// ErrNotStatus: the message is no SF1601 status message.
var ErrNotStatus = errors.New("digitalpost: not a Digital Post status message")

// ParseStatus reads a status message: a Beskedfordeler envelope holding a
// PKO_PostStatus in Beskeddata/Base64, or a bare PKO_PostStatus.
func ParseStatus(r io.Reader) (StatusEvent, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxStatusSize+1))
	if err != nil {
		return StatusEvent{}, fmt.Errorf("digitalpost: read status message: %w", err)
	}
	if len(raw) > maxStatusSize {
		return StatusEvent{}, fmt.Errorf("digitalpost: status message too large: %w", ErrNotStatus)
	}
	var ev StatusEvent
	data := raw
	if b64, handling, ok, err := envelope(raw); err != nil {
		return StatusEvent{}, err
	} else if ok {
		data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(b64), ""))
		if err != nil {
			return StatusEvent{}, fmt.Errorf("digitalpost: status message data not base64: %w", ErrNotStatus)
		}
		if e, known := statusEvents[strings.ToLower(handling)]; known {
			ev.Event, ev.Status = e.name, e.status
		}
	}
	var ps struct {
		XMLName                 xml.Name
		MessageUUID             string `xml:"MessageUUID"`
		AfsendelseIdentifikator string `xml:"AfsendelseIdentifikator"`
		KanalKode               string `xml:"KanalKode"`
		TransaktionsDatoTid     string `xml:"TransaktionsDatoTid"`
		AfsenderSystem          string `xml:"AfsenderSystemIdentifikator"`
		TransaktionsStatusKode  string `xml:"TransaktionsStatusKode"`
		FejlDetaljer            *struct {
			FejlKode  string `xml:"FejlKode"`
			FejlTekst string `xml:"FejlTekst"`
		} `xml:"FejlDetaljer"`
	}
	if err := xml.Unmarshal(data, &ps); err != nil {
		return StatusEvent{}, fmt.Errorf("digitalpost: status message: %v: %w", err, ErrNotStatus)
	}
	if ps.XMLName.Space != nsPostStatus || ps.XMLName.Local != "PKO_PostStatus" {
		return StatusEvent{}, fmt.Errorf("digitalpost: status message is {%s}%s: %w", ps.XMLName.Space, ps.XMLName.Local, ErrNotStatus)
	}
	ev.Ref = strings.ToLower(strings.TrimSpace(ps.MessageUUID))
	if ev.Ref == "" {
		ev.Ref = strings.ToLower(strings.TrimSpace(ps.AfsendelseIdentifikator))
	}
	if ev.Ref == "" {
		return StatusEvent{}, fmt.Errorf("digitalpost: status message names no message: %w", ErrNotStatus)
	}
	ev.Kanal = strings.TrimSpace(ps.KanalKode)
	ev.Code = strings.TrimSpace(ps.TransaktionsStatusKode)
	ev.SenderSystem = strings.TrimSpace(ps.AfsenderSystem)
	if t, err := time.Parse(time.RFC3339, strings.TrimSpace(ps.TransaktionsDatoTid)); err == nil {
		ev.At = t.UTC()
	}
	if f := ps.FejlDetaljer; f != nil && strings.TrimSpace(f.FejlKode+f.FejlTekst) != "" {
		ev.ErrorCode, ev.ErrorText = strings.TrimSpace(f.FejlKode), scrub(strings.TrimSpace(f.FejlTekst))
		ev.Status = delivery.Failed
	}
	if ev.Status == "" {
		// No event we know: an error-free status on the digital channel
		// is a delivery; a letter's progress stays open.
		ev.Status = delivery.Accepted
		if ev.Event == "" && strings.EqualFold(ev.Kanal, string(ValgDigitalPost)) {
			ev.Status = delivery.Delivered
		}
	}
	return ev, nil
}

// envelope finds Beskeddata/Base64 and the event's
// ObjektHandling/UUIDIdentifikator in a Beskedfordeler envelope, wherever
// it is wrapped (AMQP body, SOAP, a callback's own wrapper). ok is false
// when raw is not an envelope.
func envelope(raw []byte) (b64, handling string, ok bool, err error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	var stack []xml.Name
	var text strings.Builder
	for {
		tok, terr := d.Token()
		if terr == io.EOF {
			return b64, handling, ok, nil
		}
		if terr != nil {
			return "", "", false, fmt.Errorf("digitalpost: status message: %v: %w", terr, ErrNotStatus)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name)
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			n := len(stack)
			switch {
			case t.Name.Space == nsBeskedData && t.Name.Local == "Base64" && !ok:
				b64, ok = text.String(), true
			case t.Name.Local == "UUIDIdentifikator" && n >= 2 && stack[n-2].Local == "ObjektHandling" && stack[n-2].Space == nsKuvert && handling == "":
				handling = strings.TrimSpace(text.String())
			}
			stack = stack[:n-1]
			text.Reset()
		}
	}
}

// StatusBook keeps the latest status of each followed delivery and is the
// relay's delivery.Follower for Serviceplatformen deliveries. It keeps
// events in memory and, when opened on a file, appends each to it (JSON
// lines), so a restart forgets nothing.
type StatusBook struct {
	// SenderSystem, when set, is the AfsenderSystemIdentifikator of this
	// organisation's system; status messages naming another are ignored
	// (a shared queue can carry other systems' messages).
	SenderSystem string
	// Now stamps events that carry no time.
	Now func() time.Time
	// Allow, when set, decides whether ServeHTTP takes a request (e.g.
	// that r.TLS names Serviceplatformen's callback certificate); refused
	// requests get 403.
	Allow func(r *http.Request) bool

	mu     sync.Mutex
	events map[string]StatusEvent
	file   *os.File
}

// NewStatusBook returns a StatusBook that keeps events in memory only.
func NewStatusBook() *StatusBook { return &StatusBook{events: map[string]StatusEvent{}} }

// statusLine is one line of the status file: an event, or that a
// delivery's events were forgotten.
type statusLine struct {
	StatusEvent
	Forget bool `json:"forget,omitempty"`
}

// OpenStatusBook returns a StatusBook that also keeps its events in path,
// reading those already there. A file that has grown to more than twice
// what it holds (events superseded or forgotten) is rewritten first.
func OpenStatusBook(path string) (*StatusBook, error) {
	b := NewStatusBook()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("digitalpost: status file: %w", err)
	}
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines++
		var l statusLine
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Ref == "" {
			// A line torn by a crash is skipped: the event comes again or
			// the delivery stays Accepted, never wrongly final.
			continue
		}
		if l.Forget {
			delete(b.events, l.Ref)
			continue
		}
		b.merge(l.StatusEvent)
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, fmt.Errorf("digitalpost: status file: %w", err)
	}
	if lines > 2*len(b.events)+100 {
		f.Close()
		if f, err = b.compact(path); err != nil {
			return nil, err
		}
	}
	b.file = f
	return b, nil
}

// compact rewrites the status file with the events held, atomically, and
// returns it open for appending.
func (b *StatusBook) compact(path string) (*os.File, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("digitalpost: status file: %w", err)
	}
	bw := bufio.NewWriter(f)
	enc := json.NewEncoder(bw)
	for _, ev := range b.events {
		if err = enc.Encode(statusLine{StatusEvent: ev}); err != nil {
			break
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("digitalpost: compact status file: %w", err)
	}
	f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("digitalpost: status file: %w", err)
	}
	return f, nil
}

// Forget drops what is known of a delivery, once the relay has recorded
// its final status, so the book does not grow without end.
func (b *StatusBook) Forget(ref string) error {
	ref = strings.ToLower(strings.TrimSpace(ref))
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.events[ref]; !ok {
		return nil
	}
	if err := b.appendLine(statusLine{StatusEvent: StatusEvent{Ref: ref}, Forget: true}); err != nil {
		return err
	}
	delete(b.events, ref)
	return nil
}

// appendLine writes one line to the status file, synced; b.mu is held.
func (b *StatusBook) appendLine(l statusLine) error {
	if b.file == nil {
		return nil
	}
	line, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("digitalpost: status file: %w", err)
	}
	if _, err := b.file.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("digitalpost: status file: %w", err)
	}
	if err := b.file.Sync(); err != nil {
		return fmt.Errorf("digitalpost: status file: %w", err)
	}
	return nil
}

// Close closes the status file.
func (b *StatusBook) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.file == nil {
		return nil
	}
	err := b.file.Close()
	b.file = nil
	return err
}

// Record takes an event in. A failure is never overturned; a final status
// (delivered, printed) is not overturned by a later progress report.
// Record returns false for an event of another sender system.
func (b *StatusBook) Record(ev StatusEvent) (bool, error) {
	ev.Ref = strings.ToLower(strings.TrimSpace(ev.Ref))
	if ev.Ref == "" {
		return false, fmt.Errorf("digitalpost: status event names no message: %w", ErrNotStatus)
	}
	if b.SenderSystem != "" && ev.SenderSystem != "" && ev.SenderSystem != b.SenderSystem {
		return false, nil
	}
	if ev.At.IsZero() {
		now := time.Now
		if b.Now != nil {
			now = b.Now
		}
		ev.At = now().UTC()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.appendLine(statusLine{StatusEvent: ev}); err != nil {
		return false, err
	}
	b.merge(ev)
	return true, nil
}

func (b *StatusBook) merge(ev StatusEvent) {
	old, ok := b.events[ev.Ref]
	if ok {
		switch {
		case old.Status == delivery.Failed:
			return
		case ev.Status == delivery.Failed:
		case ev.Status == "" || old.Status.Final() && !ev.Status.Final():
			return
		}
	}
	if ev.Status == "" {
		ev.Status = delivery.Accepted
	}
	b.events[ev.Ref] = ev
}

// Status implements delivery.Follower: Accepted until a status message
// says more.
func (b *StatusBook) Status(_ context.Context, ref string) (delivery.Status, error) {
	ev, ok := b.Event(ref)
	if !ok {
		return delivery.Accepted, nil
	}
	return ev.Status, nil
}

// Event is the latest event of a delivery, for the reason of a failure.
func (b *StatusBook) Event(ref string) (StatusEvent, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ev, ok := b.events[strings.ToLower(ref)]
	return ev, ok
}

// ServeHTTP is the PostStatusBeskedModtag endpoint: Beskedfordeleren POSTs
// one status message per request. 200 when it is taken (or ignored as
// another system's), 400 when it is no status message (not retried), 500
// when it could not be kept (Beskedfordeleren tries again). Mount it only
// behind mutual TLS that admits Serviceplatformen's callback certificate.
func (b *StatusBook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.Allow != nil && !b.Allow(r) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	ev, err := ParseStatus(http.MaxBytesReader(w, r.Body, maxStatusSize))
	if err != nil {
		http.Error(w, "not a status message", http.StatusBadRequest)
		return
	}
	if _, err := b.Record(ev); err != nil {
		http.Error(w, "could not keep the status", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}
