package letter

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteDocument typesets a document that is not a letter — an attachment
// converted to PDF because Digital Post does not take its format (plain
// text, Markdown, HTML, a mail body): the title in bold, then the HTML
// body as the cover letter's body is set, on as many A4 pages as it needs,
// numbered when there are several. No address, no letterhead. It returns
// the number of pages.
func WriteDocument(w io.Writer, title, bodyHTML string, created time.Time) (int, error) {
	pages := layoutDocument(title, bodyHTML)
	d, err := newDoc(created)
	if err != nil {
		return 0, err
	}
	for _, p := range pages {
		d.coverPage(p)
	}
	if err := d.f.Error(); err != nil {
		return 0, fmt.Errorf("letter: write document: %w", err)
	}
	if err := d.write(w); err != nil {
		return 0, err
	}
	return d.pages, nil
}

// layoutDocument lays out a title and a body from the top of the page.
func layoutDocument(title, bodyHTML string) []*coverPage {
	first := &coverPage{}
	left := marginLeftMM * mm
	right := pageWidth - marginRightMM*mm
	textW := right - left
	y := fromTop(contTopMM)
	if strings.TrimSpace(title) != "" {
		for _, line := range wrapRuns([]run{{text: title, font: bold}}, subjectSize, textW, textW) {
			first.lines = append(first.lines, placedLine{textLine: textLine{x: left, y: y, size: subjectSize, pieces: line}, role: roleSubject})
			y -= subjectSize * 1.25
		}
		y -= bodyLeading
	}
	pages := layoutBody([]*coverPage{first}, bodyHTML, y)
	numberPages(pages, "")
	return pages
}
