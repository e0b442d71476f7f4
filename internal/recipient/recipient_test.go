package recipient

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var today = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	tests := []struct {
		in    string
		kind  Kind
		value string
	}{
		{"221177-1212", KindCPR, "2211771212"},
		{"2211771212", KindCPR, "2211771212"},
		{" 22 11 77 12 12 ", KindCPR, "2211771212"},
		{"221177 - 1212", KindCPR, "2211771212"},
		{"0707614285", KindCPR, "0707614285"},
		{"1010101010", KindCPR, "1010101010"},
		{"3102991234", KindInvalid, ""},       // 31 February
		{"2902014000", KindInvalid, ""},       // 29 Feb 2001 (digit 4, yy 01 → 2001) does not exist
		{"2902004000", KindCPR, "2902004000"}, // 29 Feb 2000 does
		{"0101305000", KindCPR, "0101305000"}, // 2030? no: 5–8 and yy ≤ 57 → 2030, after today
		{"0101585000", KindCPR, "0101585000"}, // 1858
		{"0101374000", KindCPR, "0101374000"}, // digit 4, yy 37 → 1937
		{"2211-771212", KindInvalid, ""},
		{"12345674", KindCVR, "12345674"},
		{"1234 5674", KindCVR, "12345674"},
		{"31128706", KindCVR, "31128706"},
		{"12345678", KindInvalid, ""},
		{"a@b.dk", KindEmail, "a@b.dk"},
		{"Anna@Kommune.DK", KindEmail, "anna@kommune.dk"},
		{"a@b", KindInvalid, ""},
		{"Karen <a@b.dk>", KindInvalid, ""},
		{"", KindInvalid, ""},
		{"123", KindInvalid, ""},
		{"22117712120", KindInvalid, ""},
	}
	for _, tt := range tests {
		got := Parse(tt.in, today)
		want := tt.kind
		if tt.in == "0101305000" {
			want = KindInvalid // born in 2030: after today
		}
		if got.Kind != want {
			t.Errorf("Parse(%q).Kind = %s (%s), want %s", tt.in, got.Kind, got.Reason, want)
			continue
		}
		if want != KindInvalid && got.Value != tt.value {
			t.Errorf("Parse(%q).Value = %q, want %q", tt.in, got.Value, tt.value)
		}
		if want == KindInvalid && got.Reason == "" {
			t.Errorf("Parse(%q): invalid without a reason", tt.in)
		}
	}
}

func TestBirthDateCenturies(t *testing.T) {
	tests := []struct {
		cpr  string
		year int
	}{
		{"0101000000", 1900}, {"0101993999", 1999},
		{"0101004000", 2000}, {"0101364000", 2036}, {"0101379000", 1937},
		{"0101005000", 2000}, {"0101575000", 2057}, {"0101588000", 1858},
	}
	far := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		d, ok := BirthDate(tt.cpr, far)
		if !ok || d.Year() != tt.year {
			t.Errorf("BirthDate(%s) = %v %v, want year %d", tt.cpr, d, ok, tt.year)
		}
	}
}

func TestMasked(t *testing.T) {
	if got := Parse("221177-1212", today).Masked(); got != "221177-xxxx" {
		t.Errorf("Masked = %q", got)
	}
	if got := Parse("3102991234", today).Masked(); strings.Contains(got, "3102") {
		t.Errorf("invalid input leaks digits: %q", got)
	}
}

type fakeRegistry map[string]Party

func (f fakeRegistry) Lookup(_ context.Context, id ID) (Party, error) {
	if id.Value == "0202020202" {
		return Party{}, errors.New("down")
	}
	return f[id.Value], nil
}

func TestCheck(t *testing.T) {
	reg := fakeRegistry{
		"2211771212": {Found: true, Name: "Karen Testesen", DigitalPost: true},
		"0707614285": {Found: true, Name: "Jens Fritagesen", Address: []string{"Testvej 1", "8800 Viborg"}},
		"1010101010": {Found: true, Name: "Hemmelig", Protected: true, DigitalPost: true},
		"12345674":   {Found: true, Name: "Demo Virksomhed ApS", DigitalPost: true},
	}
	r := Check(context.Background(), reg, []string{"221177-1212", "12345674", "1010101010"}, today)
	if !r.AllSecure || r.Message != MsgAllSecure {
		t.Fatalf("all secure expected: %+v", r)
	}
	if r.Results[0].Message != "CPR-nummer tilhører Karen Testesen" || r.Results[0].Name != "Karen Testesen" {
		t.Errorf("Karen: %+v", r.Results[0])
	}
	if r.Results[2].Name != "" || r.Results[2].Message != MsgProtected || r.Results[2].Channel != ChannelDigitalPost {
		t.Errorf("protected: %+v", r.Results[2])
	}

	r = Check(context.Background(), reg, []string{"0707614285", "0101010101", "3102991234", "a@b.dk", "0202020202"}, today)
	if r.AllSecure {
		t.Fatal("nothing here is secure")
	}
	want := []struct {
		ch     Channel
		kind   Kind
		secure bool
	}{{ChannelPrint, KindCPR, false}, {ChannelNone, KindCPR, false}, {ChannelNone, KindInvalid, false}, {ChannelNone, KindEmail, false}, {ChannelNone, KindCPR, false}}
	for i, w := range want {
		got := r.Results[i]
		if got.Channel != w.ch || got.Kind != w.kind || got.Secure != w.secure || got.Message == "" {
			t.Errorf("result %d = %+v, want %+v", i, got, w)
		}
	}
	if !strings.Contains(r.Results[0].Message, "OneTooX") {
		t.Errorf("exempt message must name OneTooX: %q", r.Results[0].Message)
	}
	if !strings.HasPrefix(r.Message, MsgNotSecure) || !strings.Contains(r.Message, "0707614285") {
		t.Errorf("summary = %q", r.Message)
	}
	if r := Check(context.Background(), reg, nil, today); r.AllSecure || r.Message != MsgNoRecipient {
		t.Errorf("empty: %+v", r)
	}
}
