package maindoc

import (
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

var logo = []byte("\x89PNG\r\n\x1a\nlogo-bytes")

// An Outlook body as Outlook writes it: a style sheet in the head, Office
// markup, the signature's logo by cid:, and a remote tracking pixel.
const outlookBody = `<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta http-equiv="refresh" content="0;url=https://ond.example/">
<link rel="stylesheet" href="https://cdn.example/x.css">
<style>@import url("https://cdn.example/y.css");
@font-face {font-family:Calibri; src:url(https://fonts.example/c.woff)}
p.MsoNormal {margin:0cm; font-size:11.0pt; font-family:"Calibri",sans-serif}
body {background-image:url(https://sporing.example/bg.png)}</style>
<script>alert(1)</script></head>
<body lang="DA" onload="alert(2)"><div class="WordSection1">
<p class="MsoNormal">Kære Jens<o:p></o:p></p>
<p class="MsoNormal" style="color:#1F497D;background:url(https://sporing.example/p.png)">Med venlig hilsen</p>
<p class="MsoNormal"><img width="120" height="40" src="cid:image001.png@01DA1234.56789ABC" alt="Demo Kommune"></p>
<p><img src="https://sporing.example/pixel.gif?id=42" width="1" height="1"></p>
<p><a href="https://www.borger.dk/" onclick="steal()">borger.dk</a> <a href="javascript:alert(3)">klik</a></p>
<!--[if gte vml 1]><v:shape><v:imagedata src="https://x.example/a.png"/></v:shape><![endif]-->
<svg><image href="https://x.example/b.png"/></svg><iframe src="https://x.example/"></iframe>
</div></body></html>`

func TestPrepareOutlookBody(t *testing.T) {
	res := Prepare(outlookBody, []Inline{{ContentID: "<image001.png@01DA1234.56789ABC>", ContentType: "image/png", Data: logo}})
	out := res.HTML
	// The logo is in the body itself.
	if want := `src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(logo) + `"`; !strings.Contains(out, want) {
		t.Errorf("logo not embedded:\n%s", out)
	}
	// Nothing that loads by itself or runs is left.
	for _, bad := range []string{"cid:", "sporing.example", "cdn.example", "fonts.example", "x.example", "ond.example",
		"<script", "alert", "onload", "onclick", "javascript:", "@import", "@font-face", "<iframe", "<svg", "<link", "refresh", "steal"} {
		if strings.Contains(out, bad) {
			t.Errorf("prepared body still has %q:\n%s", bad, out)
		}
	}
	// What the clerk wrote, and how it looks, stays.
	for _, good := range []string{"Kære Jens", "Med venlig hilsen", `href="https://www.borger.dk/"`, "p.MsoNormal {margin:0cm", "color:#1F497D", `alt="Demo Kommune"`, `<meta charset="utf-8"/>`} {
		if !strings.Contains(out, good) {
			t.Errorf("prepared body lost %q:\n%s", good, out)
		}
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "internettet") {
		t.Errorf("notes %q, want one about the remote image", res.Notes)
	}
	// Idempotent: the relay may prepare what the agent prepared.
	if again := Prepare(out, nil); again.HTML != out || len(again.Notes) != 0 {
		t.Errorf("second Prepare changed the body or noted %q", again.Notes)
	}
}

func TestPrepareMissingCID(t *testing.T) {
	res := Prepare(`<p>Hej</p><img src="cid:image002.jpg@x"><img src="cid:image003.jpg@x">`, []Inline{{ContentID: "image009@x", ContentType: "image/png", Data: logo}})
	if strings.Contains(res.HTML, "<img") || !strings.Contains(res.HTML, "<p>Hej</p>") {
		t.Errorf("body %s", res.HTML)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "blev ikke sendt med") {
		t.Errorf("notes %q, want one note about the missing picture", res.Notes)
	}
	// Without Outlook's contentId the page sends the picture's name, which
	// is what Outlook's cid starts with.
	res = Prepare(`<img src="cid:image001.png@01DA1234.56789ABC">`, []Inline{{ContentID: "image001.png", ContentType: "image/png", Data: logo}})
	if !strings.Contains(res.HTML, "data:image/png;base64,") || len(res.Notes) != 0 {
		t.Errorf("picture by name: %s %q", res.HTML, res.Notes)
	}
	// A part that is not a picture is not embedded as one.
	res = Prepare(`<img src="cid:a@b">`, []Inline{{ContentID: "a@b", ContentType: "text/html", Data: []byte("<script>")}})
	if strings.Contains(res.HTML, "data:") || len(res.Notes) != 1 {
		t.Errorf("non-image inline part: %s %q", res.HTML, res.Notes)
	}
}

func TestPrepareFragment(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<p>Tekst</p>`, `<p>Tekst</p>`},
		{`<script>x()</script><p onclick="y()">Tekst</p>`, `<p>Tekst</p>`},
		{`<img src="data:image/png;base64,iVBORw0KGgo=" alt="ok">`, `<img src="data:image/png;base64,iVBORw0KGgo=" alt="ok"/>`},
		{`<img src="data:image/svg+xml;base64,PHN2Zz4=">`, ``},
		{`<img src="logo.png">`, ``},
		{`<custom-tag>indhold</custom-tag>`, `indhold`},
		{`<a href="mailto:a@b.dk">skriv</a>`, `<a href="mailto:a@b.dk">skriv</a>`},
		{`<a href="data:text/html,x">x</a>`, `<a>x</a>`},
		{`<style onload="x()" media="print">p{}</style>`, `<style>p{}</style>`},
		{`<span style="font-weight:bold;behavior:url(x.htc)">f</span>`, `<span style="font-weight:bold;x-removed:none">f</span>`},
		{`<table background="https://x/y.png"><tr><td>c</td></tr></table>`, `<table><tbody><tr><td>c</td></tr></tbody></table>`},
	}
	for _, tt := range tests {
		if got := Prepare(tt.in, nil).HTML; got != tt.want {
			t.Errorf("Prepare(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzPrepare(f *testing.F) {
	f.Add(outlookBody)
	f.Add(`<p>a</p><img src="cid:x"><img src="http://y/z">`)
	f.Fuzz(func(t *testing.T, body string) {
		res := Prepare(body, []Inline{{ContentID: "x", ContentType: "image/png", Data: logo}})
		if problem := loads(res.HTML); problem != "" {
			t.Fatalf("Prepare(%q) left %s: %s", body, problem, res.HTML)
		}
		if again := Prepare(res.HTML, nil); again.HTML != res.HTML {
			t.Fatalf("not idempotent:\n%q\n%q", res.HTML, again.HTML)
		}
	})
}

// loads parses a prepared body as a browser would and reports anything
// in it that would run or load by itself.
func loads(body string) string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return "unparseable HTML"
	}
	var problem string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if removed[n.DataAtom] {
				problem = "<" + n.Data + ">"
			}
			if n.DataAtom == atom.Style && n.FirstChild != nil && badCSS(n.FirstChild.Data) {
				problem = "a style sheet that loads: " + n.FirstChild.Data
			}
			for _, a := range n.Attr {
				k, v := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
				switch {
				case strings.HasPrefix(k, "on"):
					problem = "handler " + k
				case k == "style" && badCSS(v):
					problem = "style " + v
				case k == "src" && !strings.HasPrefix(v, "data:image/"):
					problem = "src " + v
				case k == "href" && strings.HasPrefix(strings.TrimLeft(v, " \t\n"), "javascript:"):
					problem = "href " + v
				case k == "background" || k == "srcset" || k == "poster" || k == "data":
					problem = "attribute " + k
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return problem
}

func badCSS(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "@import") || strings.Contains(s, "url(") || strings.Contains(s, "expression(")
}
