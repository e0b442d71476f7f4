package main

import (
	"strings"
	"testing"
)

func TestReadUsers(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     []string
	}{
		{"header and names", "email,navn\nanna@kommune.dk,Anna\nbo@kommune.dk,Bo\n", []string{"anna@kommune.dk", "bo@kommune.dk"}},
		{"Danish Excel: BOM, semicolons, CRLF", "\ufeffE-mail;Navn\r\nanna@kommune.dk;Anna\r\n", []string{"anna@kommune.dk"}},
		{"no header, blanks, comments, duplicates", "anna@kommune.dk\n\n# IT\nANNA@kommune.dk\n  bo@kommune.dk\n", []string{"anna@kommune.dk", "bo@kommune.dk"}},
		{"quoted", "\"anna@kommune.dk\",\"Anna, HR\"\n", []string{"anna@kommune.dk"}},
	} {
		got, err := readUsers(strings.NewReader(tt.in))
		if err != nil || strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%s: %q %v", tt.name, got, err)
		}
	}
	for _, bad := range []string{
		"",
		"email\n",
		"anna@kommune.dk\nbo kommune.dk\n",      // line 2 is no address: nothing issued
		"anna@kommune.dk\nBo <bo@kommune.dk>\n", // a display name is not an address here
		"\"unterminated\n",
	} {
		if users, err := readUsers(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted: %q", bad, users)
		}
	}
	_, err := readUsers(strings.NewReader("a@k.dk\nnot-an-address\nb@k.dk\nalso bad\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("every bad line named: %v", err)
	}
}

func FuzzReadUsers(f *testing.F) {
	f.Add("email,navn\nanna@kommune.dk,Anna\n")
	f.Fuzz(func(t *testing.T, in string) {
		users, err := readUsers(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, u := range users {
			if !strings.Contains(u, "@") || strings.ContainsAny(u, "<> ") || seen[strings.ToLower(u)] {
				t.Fatalf("%q gave %q", in, users)
			}
			seen[strings.ToLower(u)] = true
		}
	})
}
