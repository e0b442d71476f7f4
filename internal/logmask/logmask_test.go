package logmask

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/recipient"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func TestMask(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// Every form the recipient parser takes.
		{"2211771212", "221177-xxxx"},
		{"221177-1212", "221177-xxxx"},
		{"221177 1212", "221177-xxxx"},
		{"22 11 77 12 12", "221177-xxxx"},
		{"221177 - 1212", "221177-xxxx"},
		// Pasted look-alikes: en dash, em dash, minus, non-breaking
		// hyphen, NBSP, thin space, full-width digits.
		{"221177–1212", "221177-xxxx"},
		{"221177—1212", "221177-xxxx"},
		{"221177−1212", "221177-xxxx"},
		{"221177\u20111212", "221177-xxxx"},
		{"221177\u00a01212", "221177-xxxx"},
		{"221177\u20091212", "221177-xxxx"},
		{"２２１１７７－１２１２", "221177-xxxx"},
		{"２２１１７７1212", "221177-xxxx"},
		// In text, the text around kept rune for rune.
		{`print: attachment "Afgørelse 221177–1212.pdf" is not a PDF`, `print: attachment "Afgørelse 221177-xxxx.pdf" is not a PDF`},
		{"GET /m/2211771212/æøå", "GET /m/221177-xxxx/æøå"},
		{"cpr=0707614285&x=1010101010", "cpr=070761-xxxx&x=101010-xxxx"},
		{"sag2211771212.docx", "sag221177-xxxx.docx"},
		// Not CPR numbers: phone numbers, impossible or future dates,
		// longer digit runs, timestamps, a second dash, no dash position.
		{"tlf 12 34 56 78", "tlf 12 34 56 78"},
		{"+45 12 34 56 78", "+45 12 34 56 78"},
		{"9999999999", "9999999999"},
		{"3102771212", "3102771212"},
		{"12211771212", "12211771212"},
		{"1764750934123456789", "1764750934123456789"},
		{"2026-12-03T08:15:34Z", "2026-12-03T08:15:34Z"},
		{"2211-77-1212", "2211-77-1212"},
		{"2211771-212", "2211771-212"},
		{"221177    1212", "221177-xxxx"},
		{"22\t11\n77 12  12", "221177-xxxx"},
	} {
		if got := Mask(c.in, now); got != c.want {
			t.Errorf("Mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// A date after now is no CPR number yet.
	if got := Mask("0412264000", now); got != "0412264000" {
		t.Errorf("future date masked: %q", got)
	}
	if got := Mask("0112264000", now); got != "011226-xxxx" {
		t.Errorf("yesterday's newborn not masked: %q", got)
	}
}

type secret struct{ Name string }

type stringer string

func (s stringer) String() string { return string(s) }

type valuer string

func (v valuer) LogValue() slog.Value { return slog.StringValue(string(v)) }

// TestHandlerMasksEverything: every way a string reaches a log line, with
// the JSON and the text handler.
func TestHandlerMasksEverything(t *testing.T) {
	cpr := "221177–1212" // pasted with an en dash
	for name, mk := range map[string]func(*bytes.Buffer) slog.Handler{
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		h := New(mk(&buf))
		h.Now = func() time.Time { return now }
		log := slog.New(h)
		wrapped := fmt.Errorf("delivery: %w", fmt.Errorf("print: attachment %q is not a PDF", "Afgørelse "+cpr+".pdf"))
		log.Info("message for 2211771212 accepted",
			"attachment", "Bilag 22 11 77 12 12.pdf",
			"err", wrapped,
			"plain-error", errors.New("no route to 221177 1212"),
			"number", int64(2211771212),
			"unsigned", uint64(2211771212),
			"stringer", stringer("to "+cpr),
			"valuer", valuer("for ２２１１７７１２１２"),
			"struct", secret{Name: "2211771212"},
			"list", []string{"x", "0707614285"},
			"bytes", []byte("1010101010"),
			slog.Group("nested", "path", "/v1/x/2211771212", slog.Group("deeper", "name", cpr)),
		)
		log.With("user", "anna", "input", cpr).WithGroup("req").Warn("with attrs", "q", "0707614285")
		log.WithGroup("2211771212").Info("group name")
		// net/http's own errors and a handler's panic reach the log
		// through a log.Logger.
		std := slog.NewLogLogger(h, slog.LevelError)
		std.Printf("http: panic serving 127.0.0.1:1234: attachment %s", cpr)
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("bad attachment 0707614285.pdf")
		}))
		srv.Config.ErrorLog = std
		srv.Start()
		http.Get(srv.URL + "/m/1010101010")
		srv.Close()

		out := buf.String()
		for _, full := range []string{"2211771212", "221177–1212", "221177 1212", "22 11 77 12 12", "0707614285", "1010101010", "２２１１７７１２１２"} {
			if strings.Contains(out, full) {
				t.Errorf("%s: full CPR %q in the log:\n%s", name, full, out)
			}
		}
		for _, want := range []string{"221177-xxxx", "070761-xxxx", "101010-xxxx", "Afgørelse 221177-xxxx.pdf", "panic serving", "bad attachment 070761-xxxx.pdf", "anna"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q missing from the log:\n%s", name, want, out)
			}
		}
	}
}

func TestHandlerKeepsOtherValues(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(New(slog.NewJSONHandler(&buf, nil)))
	log.Info("sizes", "bytes", int64(1234567890123), "n", 42, "ok", true, "d", time.Second, "s", struct{ A int }{7})
	if got := buf.String(); !strings.Contains(got, `"bytes":1234567890123`) || !strings.Contains(got, `"n":42`) || !strings.Contains(got, `"s":{"A":7}`) {
		t.Fatalf("other values changed: %s", got)
	}
	if !New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})).Enabled(context.Background(), slog.LevelWarn) {
		t.Fatal("Enabled not passed on")
	}
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"2211771212", "221177–1212", "２２１１７７－１２１２", "22 11 77 12 12", "tlf 12 34 56 78", "æøå 0707614285 x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := []rune(Mask(s, now))
		for i := range m {
			m[i] = recipient.FoldRune(m[i])
		}
		// No CPR number in its plain forms (ten digits, or six, a dash or
		// space, four) survives, look-alike characters folded. Masking
		// may make new matches out of "DDMMYY-xxxx" and digits before it;
		// those show no more than the mask does, so a second pass is not
		// required to change nothing.
		digitAt := func(i int) bool { return i >= 0 && i < len(m) && isDigit(m[i]) }
		for i := range m {
			if digitAt(i-1) || !digitAt(i) {
				continue
			}
			j := i
			for digitAt(j) {
				j++
			}
			d := string(m[i:j])
			if len(d) == 6 && j+5 <= len(m) && (m[j] == '-' || m[j] == ' ') &&
				digitAt(j+1) && digitAt(j+2) && digitAt(j+3) && digitAt(j+4) && !digitAt(j+5) {
				d += string(m[j+1 : j+5])
			}
			if len(d) == 10 {
				if _, ok := recipient.BirthDate(d, now); ok {
					t.Fatalf("CPR number %s survived: %q → %q", d, s, Mask(s, now))
				}
			}
		}
	})
}

// BenchmarkHandler: the cost masking adds to a typical relay log line.
func BenchmarkHandler(b *testing.B) {
	for name, h := range map[string]slog.Handler{
		"plain":  slog.NewJSONHandler(io.Discard, nil),
		"masked": New(slog.NewJSONHandler(io.Discard, nil)),
	} {
		b.Run(name, func(b *testing.B) {
			log := slog.New(h)
			err := errors.New(`print: attachment "Afgørelse 221177–1212.pdf" is not a PDF`)
			for b.Loop() {
				log.Error("delivery failed for good", "id", "7d027187-283c-4bc4-a06f-957a576f7a5d", "recipient", "070761-xxxx", "err", err)
			}
		})
	}
}
