package attachment

import "testing"

func TestPrintable(t *testing.T) {
	tests := []struct {
		contentType, filename string
		want                  bool
	}{
		{"application/pdf", "afgørelse.pdf", true},
		{"application/pdf; name=\"afg.pdf\"", "afg.pdf", true},
		{"Application/PDF", "x", true},
		{"application/x-pdf", "x.pdf", true},
		{"image/jpeg", "foto.jpg", true},
		{"image/jpg", "foto.jpg", true},
		{"image/png", "skærm.png", true},
		{"application/octet-stream", "bilag.PDF", true},
		{"application/octet-stream", "foto.jpeg", true},
		{"", "scan.png", true},
		{"", "noter.txt", false},
		{"application/octet-stream", "bilag.docx", false},
		{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "bilag.docx", false},
		{"application/msword", "forklædt.pdf", false}, // an explicit type wins over the name
		{"text/html", "side.html", false},
		{"image/gif", "anim.gif", false},
		{"image/svg+xml", "logo.svg", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := Printable(tt.contentType, tt.filename); got != tt.want {
			t.Errorf("Printable(%q, %q) = %v, want %v", tt.contentType, tt.filename, got, tt.want)
		}
	}
}
