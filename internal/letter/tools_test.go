package letter

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// needTool returns the path of an external program, skipping the test
// when it is missing unless SENDSIKKERT_REQUIRE_TOOLS=1 says CI has it.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s not found (install Debian package %s)", name, pkg)
		}
		t.Skipf("%s not found (install Debian package %s)", name, pkg)
	}
	return path
}

// run runs a tool and fails on any complaint it prints: poppler reports
// a malformed PDF on stderr and often still exits 0.
func runTool(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return out
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPopplerReadsLetter checks the letter as an independent PDF reader
// sees it: the text comes out as written, Danish letters included, and
// the address words lie inside the window field.
func TestPopplerReadsLetter(t *testing.T) {
	pdftotext := needTool(t, "pdftotext", "poppler-utils")
	pdfinfo := needTool(t, "pdfinfo", "poppler-utils")
	pdftoppm := needTool(t, "pdftoppm", "poppler-utils")

	l := sampleLetter()
	l.Attachments = []Attachment{memAttachment("bilag.pdf", "application/pdf", attachmentPDF(t, 2))}
	pdf, _ := render(t, l)
	path := writeTemp(t, "brev.pdf", pdf)

	text := string(runTool(t, pdftotext, "-enc", "UTF-8", path, "-"))
	for _, want := range []string{"Jens Fritagesen", "Testvej 1", "8800 Viborg", "Afgørelse om økonomisk hjælp", "Søren Ærø på Åbyhøj", "café", "Bilag side 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext output lacks %q:\n%s", want, text)
		}
	}

	info := string(runTool(t, pdfinfo, path))
	if m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`).FindStringSubmatch(info); m == nil || m[1] != "3" {
		t.Errorf("pdfinfo: want 3 pages:\n%s", info)
	}
	if !strings.Contains(info, "595.28 x 841.89 pts (A4)") {
		t.Errorf("pdfinfo: not A4:\n%s", info)
	}
	// Rendering every page must not raise a syntax error.
	runTool(t, pdftoppm, "-r", "10", "-png", path, filepath.Join(t.TempDir(), "page"))

	// Word boxes, in points from the top-left corner.
	type word struct {
		XMin float64 `xml:"xMin,attr"`
		YMin float64 `xml:"yMin,attr"`
		XMax float64 `xml:"xMax,attr"`
		YMax float64 `xml:"yMax,attr"`
		Text string  `xml:",chardata"`
	}
	var doc struct {
		Pages []struct {
			Words []word `xml:"flow>block>line>word"`
			Plain []word `xml:"word"`
		} `xml:"body>doc>page"`
	}
	bbox := runTool(t, pdftotext, "-enc", "UTF-8", "-bbox", "-f", "1", "-l", "1", path, "-")
	if err := xml.Unmarshal(bbox, &doc); err != nil || len(doc.Pages) == 0 {
		t.Fatalf("parse pdftotext -bbox: %v\n%s", err, bbox)
	}
	words := append(doc.Pages[0].Words, doc.Pages[0].Plain...)
	left, top := AddressFieldLeftMM*mm, AddressFieldTopMM*mm
	right, bottom := left+AddressFieldWidthMM*mm, top+AddressFieldHeightMM*mm
	inField := func(w word) bool {
		return w.XMin >= left && w.XMax <= right && w.YMin >= top && w.YMax <= bottom
	}
	for _, want := range []string{"Jens", "Fritagesen", "Testvej", "1", "8800", "Viborg"} {
		found := false
		for _, w := range words {
			if w.Text == want && inField(w) {
				found = true
			}
		}
		if !found {
			t.Errorf("%q not inside the window field (%.1f,%.1f)-(%.1f,%.1f) pt", want, left, top, right, bottom)
		}
	}
	if len(words) < 20 {
		t.Errorf("only %d words found on page 1", len(words))
	}
}

// TestQPDFMergeInputs merges PDFs as other producers write them: object
// and cross-reference streams, and encryption that only restricts editing.
func TestQPDFMergeInputs(t *testing.T) {
	qpdf := needTool(t, "qpdf", "qpdf")
	src := writeTemp(t, "src.pdf", attachmentPDF(t, 2))
	dir := t.TempDir()
	variants := map[string][]string{
		"object streams":            {"--object-streams=generate"},
		"AES-256, no open password": {"--encrypt", "", "ejer", "256", "--"},
		"AES-128, no open password": {"--encrypt", "", "ejer", "128", "--use-aes=y", "--"},
	}
	for name, args := range variants {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, strconv.Itoa(len(name))+".pdf")
			runTool(t, qpdf, append(append(args, src), out)...)
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			l := sampleLetter()
			l.Attachments = []Attachment{memAttachment("x.pdf", "application/pdf", data)}
			pdf, st := render(t, l)
			if st.Pages != 3 || pdfcpuPages(t, pdf) != 3 {
				t.Errorf("stats %+v, want 3 pages", st)
			}
			if bytes.Contains(pdf, []byte("/Encrypt")) {
				t.Error("merged PDF is still encrypted")
			}
		})
	}
	t.Run("open password", func(t *testing.T) {
		out := filepath.Join(dir, "locked.pdf")
		runTool(t, qpdf, "--encrypt", "hemmelig", "ejer", "256", "--", src, out)
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		l := sampleLetter()
		l.Attachments = []Attachment{memAttachment("låst.pdf", "application/pdf", data)}
		var buf bytes.Buffer
		if _, err := Render(&buf, l); err == nil {
			t.Error("a PDF that needs a password to open was accepted")
		}
	})
}

// TestPrintReady checks the letter as a print service's preflight would:
// every font embedded and subset (pdffonts), a structurally sound file
// (qpdf --check), A4 pages and a PDF version print services take — for a
// letter we write whole and for one merged with a PDF and an image.
func TestPrintReady(t *testing.T) {
	pdffonts := needTool(t, "pdffonts", "poppler-utils")
	pdfinfo := needTool(t, "pdfinfo", "poppler-utils")
	qpdf := needTool(t, "qpdf", "qpdf")

	merged := sampleLetter()
	merged.BodyHTML += "<p><i>Kursiv</i> og <b><i>fed kursiv</i></b> – 100 € – “citat”</p>"
	merged.Attachments = []Attachment{
		memAttachment("bilag.pdf", "application/pdf", attachmentPDF(t, 2)),
		memAttachment("foto.jpg", "image/jpeg", testJPEG(t, 64, 48)),
	}
	for name, l := range map[string]*Letter{"letter alone": sampleLetter(), "merged": merged} {
		t.Run(name, func(t *testing.T) {
			pdf, _ := render(t, l)
			path := writeTemp(t, "brev.pdf", pdf)

			fonts := strings.Split(strings.TrimSpace(string(runTool(t, pdffonts, path))), "\n")
			if len(fonts) < 3 {
				t.Fatalf("pdffonts lists no font:\n%s", strings.Join(fonts, "\n"))
			}
			// Columns: name type encoding emb sub uni object-id gen; the
			// type may be two words ("CID TrueType").
			for _, line := range fonts[2:] {
				f := strings.Fields(line)
				if len(f) < 6 {
					t.Fatalf("pdffonts line %q", line)
				}
				emb, sub := f[len(f)-5], f[len(f)-4]
				if emb != "yes" || sub != "yes" {
					t.Errorf("font not embedded and subset: %s", line)
				}
				if !regexp.MustCompile(`^[A-Z]{6}\+LiberationSans`).MatchString(f[0]) {
					t.Errorf("font %s is not a tagged Liberation Sans subset", f[0])
				}
			}

			// Danish letters and the typographic characters come out as written.
			text := strings.Join(strings.Fields(string(runTool(t, "pdftotext", "-enc", "UTF-8", path, "-"))), " ")
			for _, want := range []string{"Afgørelse om økonomisk hjælp", "Rådhuspladsen"} {
				if !strings.Contains(text, want) {
					t.Errorf("pdftotext lacks %q: %s", want, text)
				}
			}
			if l == merged && !strings.Contains(text, "– 100 € – “citat”") {
				t.Errorf("pdftotext lacks the dash, euro and quotes: %s", text)
			}

			out, err := exec.Command(qpdf, "--check", path).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors") {
				t.Errorf("qpdf --check: %v\n%s", err, out)
			}

			info := string(runTool(t, pdfinfo, path))
			if strings.Count(info, "595.28 x 841.89 pts (A4)") != 1 {
				t.Errorf("pages are not A4:\n%s", info)
			}
			// The Norwegian print service states PDF 1.0–1.7 and embedded
			// fonts (see doc.go); 2.0 is what could go wrong with pdfcpu.
			if m := regexp.MustCompile(`(?m)^PDF version:\s+1\.[0-7]$`).FindString(info); m == "" {
				t.Errorf("PDF version not within 1.0–1.7:\n%s", info)
			}
		})
	}
}

// TestLetterLogo: the signature's logo, embedded in the body as a data:
// URI at submit, prints on the letter where the mail shows it, at the
// size the mail gives it; a picture the body only refers to (cid:, a
// remote address) prints nothing.
func TestLetterLogo(t *testing.T) {
	var logo bytes.Buffer
	png.Encode(&logo, image.NewNRGBA(image.Rect(0, 0, 240, 80)))
	l := sampleLetter()
	l.BodyHTML = `<p>Med venlig hilsen</p><p><img width="120" height="40" alt="logo" src="data:image/png;base64,` +
		base64.StdEncoding.EncodeToString(logo.Bytes()) + `"></p><p>Demo Kommune</p>` +
		`<img src="cid:image009.png@x"><img src="https://sporing.example/p.gif">`

	pages, err := layoutCover(l)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || len(pages[0].pictures) != 1 {
		t.Fatalf("want one picture on one page, got %d pages, %d pictures", len(pages), len(pages[0].pictures))
	}
	p := pages[0].pictures[0]
	if math.Abs(p.w-90) > 0.01 || math.Abs(p.h-30) > 0.01 { // 120×40 CSS px at 96 dpi
		t.Errorf("logo is %.1f×%.1f pt, want 90×30", p.w, p.h)
	}
	var greeting, signature float64
	for _, ln := range pages[0].lines {
		switch ln.String() {
		case "Med venlig hilsen":
			greeting = ln.y
		case "Demo Kommune":
			if ln.role == roleBody {
				signature = ln.y
			}
		}
	}
	if !(greeting > p.y && p.y-p.h > signature) || p.x < marginLeftMM*mm {
		t.Errorf("logo at y %.1f–%.1f, not between the greeting (%.1f) and the signature (%.1f)", p.y, p.y-p.h, greeting, signature)
	}

	pdfimages := needTool(t, "pdfimages", "poppler-utils")
	pdf, _ := render(t, l)
	out := string(runTool(t, pdfimages, "-list", writeTemp(t, "brev.pdf", pdf)))
	rows := strings.Split(strings.TrimSpace(out), "\n")[2:]
	if len(rows) != 1 || !strings.Contains(rows[0], " 240 ") || !strings.Contains(rows[0], " 80 ") {
		t.Errorf("pdfimages: want the one 240×80 logo:\n%s", out)
	}
}
