package digitalpost

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"sendsikkert/internal/delivery"
)

const (
	evDelivered = "f7161a89-5068-4023-bc80-d7f4daad2a2e"
	evFailed    = "e225a75c-4b63-46c4-9423-77f5c8762445"
	evPrinted   = "e3c0a021-2070-40d4-b7b7-754aeba762e9"
	evReceived  = "dd98e71c-41ac-4305-a47b-8f86b00e639b"
	evRecalled  = "f03904aa-df6e-417f-bd74-6a01a61adbcf"
)

// postStatus is a PKO_PostStatus as Digital Post sends it.
func postStatus(ref, kanal, fejl string) string {
	f := ""
	if fejl != "" {
		f = "<FejlDetaljer><FejlKode>12</FejlKode><FejlTekst>" + fejl + "</FejlTekst></FejlDetaljer>"
	}
	id := "<MessageUUID>" + ref + "</MessageUUID>"
	if kanal == "Fysisk Post" {
		id = "<AfsendelseIdentifikator>" + ref + "</AfsendelseIdentifikator>"
	}
	return `<?xml version="1.0" encoding="UTF-8"?><PKO_PostStatus xmlns="http://serviceplatformen.dk/xml/print/PKO_PostStatus/1/types">` +
		`<TransmissionId>` + uuid.NewString() + `</TransmissionId>` + id +
		`<KanalKode>` + kanal + `</KanalKode><TransaktionsDatoTid>2026-11-22T12:00:00Z</TransaktionsDatoTid>` +
		`<AfsenderSystemIdentifikator>sys-1</AfsenderSystemIdentifikator><TransaktionsStatusKode>Modtaget</TransaktionsStatusKode>` + f +
		`</PKO_PostStatus>`
}

// envelopeOf wraps a status in a Beskedfordeler Haendelsesbesked.
func envelopeOf(event, data string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><Haendelsesbesked xmlns="urn:oio:besked:kuvert:1.0" xmlns:sd="urn:oio:sagdok:3.0.0" xmlns:b="urn:besked:kuvert:1.0">` +
		`<Beskedkuvert><Filtreringsdata><BeskedAnsvarligAktoer><sd:UUIDIdentifikator>96514e13-afdd-44d6-95a8-adc2ca19b127</sd:UUIDIdentifikator></BeskedAnsvarligAktoer>` +
		`<ObjektRegistrering><ObjektHandling><sd:UUIDIdentifikator>` + event + `</sd:UUIDIdentifikator></ObjektHandling></ObjektRegistrering></Filtreringsdata>` +
		`<Leveranceinformation><Dannelsestidspunkt><sd:TidsstempelDatoTid>2026-11-22T12:00:01Z</sd:TidsstempelDatoTid></Dannelsestidspunkt></Leveranceinformation></Beskedkuvert>` +
		`<Beskeddata><b:Base64 contentType="text/xml">` + base64.StdEncoding.EncodeToString([]byte(data)) + `</b:Base64></Beskeddata></Haendelsesbesked>`
}

func TestParseStatus(t *testing.T) {
	u := uuid.NewString()
	cases := []struct {
		name, msg string
		want      delivery.Status
		event     string
	}{
		{"delivered", envelopeOf(evDelivered, postStatus(u, "Digital Post", "")), delivery.Delivered, "Afleveret Digital Post"},
		{"failed event", envelopeOf(evFailed, postStatus(u, "Digital Post", "Modtager fritaget 0707614285")), delivery.Failed, "Fejlet"},
		{"error without event", envelopeOf("00000000-0000-4000-8000-000000000000", postStatus(u, "Digital Post", "Postkasse lukket")), delivery.Failed, ""},
		{"letter printed", envelopeOf(evPrinted, postStatus(u, "Fysisk Post", "")), delivery.Printed, "Afleveret til print og kuvertering"},
		{"letter received", envelopeOf(evReceived, postStatus(u, "Fysisk Post", "")), delivery.Accepted, "Modtaget Fjern-print"},
		{"bare digital", postStatus(u, "Digital Post", ""), delivery.Delivered, ""},
		{"bare letter", postStatus(u, "Fysisk Post", ""), delivery.Accepted, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := ParseStatus(strings.NewReader(c.msg))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Ref != u || ev.Status != c.want || ev.Event != c.event || ev.SenderSystem != "sys-1" || ev.At.IsZero() {
				t.Fatalf("%+v", ev)
			}
			if strings.Contains(ev.ErrorText, "0707614285") {
				t.Fatalf("error text holds a CPR number: %q", ev.ErrorText)
			}
		})
	}
	for name, bad := range map[string]string{
		"not xml":       "hello",
		"other message": `<Foo xmlns="urn:x"><MessageUUID>x</MessageUUID></Foo>`,
		"no uuid":       `<PKO_PostStatus xmlns="http://serviceplatformen.dk/xml/print/PKO_PostStatus/1/types"><KanalKode>Digital Post</KanalKode></PKO_PostStatus>`,
		"bad base64":    `<E xmlns:b="urn:besked:kuvert:1.0"><b:Base64>!!!</b:Base64></E>`,
	} {
		if _, err := ParseStatus(strings.NewReader(bad)); !errors.Is(err, ErrNotStatus) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestStatusBookFollows(t *testing.T) {
	b := NewStatusBook()
	ctx := context.Background()
	u := uuid.NewString()
	var f delivery.Follower = b
	if s, err := f.Status(ctx, u); err != nil || s != delivery.Accepted {
		t.Fatalf("unknown: %q %v", s, err)
	}
	rec := func(event, kanal, fejl string) {
		t.Helper()
		ev, err := ParseStatus(strings.NewReader(envelopeOf(event, postStatus(u, kanal, fejl))))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Record(ev); err != nil {
			t.Fatal(err)
		}
	}
	rec(evReceived, "Fysisk Post", "")
	if s, _ := f.Status(ctx, u); s != delivery.Accepted {
		t.Fatalf("received: %q", s)
	}
	rec(evPrinted, "Fysisk Post", "")
	rec(evReceived, "Fysisk Post", "") // late progress report
	if s, _ := f.Status(ctx, strings.ToUpper(u)); s != delivery.Printed {
		t.Fatalf("printed: %q", s)
	}
	rec(evRecalled, "Fysisk Post", "")
	rec(evDelivered, "Digital Post", "")
	if s, _ := f.Status(ctx, u); s != delivery.Failed {
		t.Fatalf("recalled: %q", s)
	}
	if ev, ok := b.Event(u); !ok || ev.Event != "Tilbagekaldt" {
		t.Fatalf("event %+v", ev)
	}
}

func TestStatusBookFileAndSenderFilter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status.jsonl")
	b, err := OpenStatusBook(path)
	if err != nil {
		t.Fatal(err)
	}
	b.SenderSystem = "sys-1"
	u1, u2 := uuid.NewString(), uuid.NewString()
	ev, _ := ParseStatus(strings.NewReader(envelopeOf(evDelivered, postStatus(u1, "Digital Post", ""))))
	if ok, err := b.Record(ev); !ok || err != nil {
		t.Fatal(ok, err)
	}
	other, _ := ParseStatus(strings.NewReader(envelopeOf(evDelivered, strings.Replace(postStatus(u2, "Digital Post", ""), "sys-1", "sys-2", 1))))
	if ok, _ := b.Record(other); ok {
		t.Fatal("another system's status was taken")
	}
	b.Close()

	b, err = OpenStatusBook(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if s, _ := b.Status(context.Background(), u1); s != delivery.Delivered {
		t.Fatalf("after reopening: %q", s)
	}
	if s, _ := b.Status(context.Background(), u2); s != delivery.Accepted {
		t.Fatalf("other system: %q", s)
	}
}

func TestStatusEndpoint(t *testing.T) {
	b := NewStatusBook()
	srv := httptest.NewServer(b)
	defer srv.Close()
	u := uuid.NewString()
	post := func(body string) int {
		resp, err := http.Post(srv.URL+"/PostStatusBeskedModtag", "application/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(envelopeOf(evFailed, postStatus(u, "Digital Post", "Ukendt modtager"))); c != 200 {
		t.Fatalf("status %d", c)
	}
	if c := post("<nonsense/>"); c != 400 {
		t.Fatalf("nonsense: %d", c)
	}
	resp, _ := http.Get(srv.URL)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	b.Allow = func(r *http.Request) bool { return r.Header.Get("X-Test-Caller") == "sp" }
	if c := post(envelopeOf(evDelivered, postStatus(u, "Digital Post", ""))); c != http.StatusForbidden {
		t.Fatalf("unknown caller: %d", c)
	}
	ev, ok := b.Event(u)
	if !ok || ev.Status != delivery.Failed || !strings.Contains(fmt.Sprint(ev.ErrorText), "Ukendt modtager") {
		t.Fatalf("%+v", ev)
	}
}

func TestStatusBookForgetAndCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status.jsonl")
	b, err := OpenStatusBook(path)
	if err != nil {
		t.Fatal(err)
	}
	keep := uuid.NewString()
	for i := 0; i < 300; i++ {
		u := uuid.NewString()
		ev, _ := ParseStatus(strings.NewReader(envelopeOf(evDelivered, postStatus(u, "Digital Post", ""))))
		if _, err := b.Record(ev); err != nil {
			t.Fatal(err)
		}
		if err := b.Forget(strings.ToUpper(u)); err != nil {
			t.Fatal(err)
		}
	}
	ev, _ := ParseStatus(strings.NewReader(envelopeOf(evFailed, postStatus(keep, "Digital Post", "Lukket"))))
	b.Record(ev)
	b.Close()
	before, _ := os.Stat(path)

	b, err = OpenStatusBook(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	after, _ := os.Stat(path)
	if after.Size() >= before.Size()/10 {
		t.Fatalf("not compacted: %d → %d bytes", before.Size(), after.Size())
	}
	if s, _ := b.Status(context.Background(), keep); s != delivery.Failed {
		t.Fatalf("kept event lost: %q", s)
	}
	if len(b.events) != 1 {
		t.Fatalf("%d events held", len(b.events))
	}
	// Appending still works after compaction.
	u := uuid.NewString()
	ev, _ = ParseStatus(strings.NewReader(envelopeOf(evDelivered, postStatus(u, "Digital Post", ""))))
	if _, err := b.Record(ev); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b, _ = OpenStatusBook(path)
	defer b.Close()
	if s, _ := b.Status(context.Background(), u); s != delivery.Delivered {
		t.Fatalf("after compaction and append: %q", s)
	}
}
