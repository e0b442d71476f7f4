package letter

import (
	"testing"
)

// FuzzLayoutBody: any body HTML a clerk's mail client (or a case system)
// sends lays out without panicking, and every line stays inside the
// page's margins and above the bottom margin.
func FuzzLayoutBody(f *testing.F) {
	f.Add(`<p class=MsoNormal>Kære Jens<o:p></o:p></p><ul><li>en</li><li><b>to <i>tre</i></b></li></ul>`)
	f.Add(`<p>Logo</p><img width="120" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==">`)
	f.Add(`<table><tr><td>a<td>b</table><pre>  kode\n\tmere</pre><img src="cid:x"><script>alert(1)</script>`)
	f.Add("<p>" + string(make([]byte, 300)) + "</p>")
	f.Fuzz(func(t *testing.T, body string) {
		l := sampleLetter()
		l.BodyHTML = body
		pages, err := layoutCover(l)
		if err != nil {
			t.Fatalf("layoutCover: %v", err)
		}
		left, right := marginLeftMM*mm-0.01, pageWidth-marginRightMM*mm+0.01
		for i, p := range pages {
			for _, ln := range p.lines {
				if ln.role != roleBody {
					continue
				}
				if ln.x < left || ln.x+ln.width() > right || ln.y < bodyBottomMM*mm-bodyLeading {
					t.Fatalf("page %d: %q at x %.1f–%.1f, y %.1f is outside the text area", i+1, ln.String(), ln.x, ln.x+ln.width(), ln.y)
				}
			}
			for _, pic := range p.pictures {
				if pic.x < left || pic.x+pic.w > right || pic.y-pic.h < bodyBottomMM*mm-0.01 {
					t.Fatalf("page %d: picture %.1f×%.1f at %.1f,%.1f is outside the text area", i+1, pic.w, pic.h, pic.x, pic.y)
				}
			}
		}
	})
}
