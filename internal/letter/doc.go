// Package letter typesets a case letter as the PDF a print service posts,
// for citizens exempt from Digital Post (the print fallback: OneTooX,
// fjernprint). Package print hands the PDF on (IPP, hot folder); this
// package only writes it.
//
// # The PDF
//
// WriteLetter (and Render, which also counts pages) writes one PDF: the
// cover letter, then each attachment's pages in order. The cover letter is
// typeset here with fpdf (codeberg.org/go-pdf/fpdf) in Liberation Sans,
// embedded and subset (fonts.go): Danish (æ ø å Æ Ø Å), typographic quotes,
// dashes and € print as written, on any printer, with no font substituted.
// A character the font has no glyph for prints as '?'. Lines are wrapped
// with the font's own advance widths, so the wrapping matches the print.
// The clerk's HTML body becomes paragraphs, line breaks, lists, bold and
// italic; everything else in the markup is dropped (images, scripts,
// styles, links' targets: nothing is loaded from anywhere).
//
// # What the print service gets
//
// KMD/OneTooX and Digital Post's fjernprint publish no PDF requirements we
// could find; we follow the closest published rules, those of the
// Norwegian state's print service for digital post (Digdir,
// "Krav til brevutforming", begrep-SikkerDigitalPost utskrift/brev):
// A4 portrait; fonts embedded (we embed every one, also where a standard
// font would do); PDF 1.0–1.7 (fpdf writes 1.3, a merge with pdfcpu 1.7;
// PDF 2.0 attachments are refused); no password; a left margin of at least
// 18 mm kept free for the print service's marks (we keep 25 mm, DIN 5008).
// Not PDF/A: nobody asks it of a letter to print, and attachments rarely
// are. Tests check the result with pdffonts and qpdf --check.
//
// Image attachments (JPEG, PNG) get a page each, centred and shrunk to fit,
// turned as their EXIF orientation says. PDF attachments are merged page by
// page with pdfcpu, which holds each parsed attachment in memory once; an
// attachment that is not seekable is spooled to a temporary file first,
// encrypted with a key that lives only for the merge.
// PDFs encrypted only against editing (no open password) are decrypted and
// merged; a PDF that needs a password to open is an error.
//
// # The envelope window
//
// The letter is A4 portrait, folded once into a C5 window envelope
// (162 × 229 mm, DIN 680 / ISO 269) with the window on the left. The
// address field follows DIN 5008 form B, the layout Danish municipal
// letters use too:
//
//	address field   20 mm from the left edge, 50 mm to 90 mm from the top,
//	                85 mm wide and 40 mm high (AddressField*MM)
//	return line     one line, 7 pt (shrunk to 6 pt, then shortened, to fit),
//	                top of the field: sender name and address
//	recipient       up to 6 lines including the name, 10 pt on 12 pt
//	                (shrunk to at least 7 pt when a line is long, never
//	                wrapped), first line about 9 mm below the field's top
//	insets          text starts 25 mm from the left edge (5 mm inside the
//	                field) and ends at least 5 mm before its right edge
//
// DIN 5008 form B puts the address field 45–90 mm from the top, 20 mm
// from the left, 85 mm wide; the DIN 680 window is 90 × 45 mm, 20 mm from
// the left. We use the lower 40 mm of that field, keeping the address
// block (about 30 mm with the return line) away from the window's top
// edge, which a letter folded once (148.5 mm) riding up in the 162 mm deep
// envelope would cover first. The print service's own envelope stock and
// layout rules decide in the end: the geometry is these constants, and
// the tests follow them.
//
// Nothing else on the page enters the field: the letterhead
// is in the information block from 125 mm, the date at 98 mm and the
// subject at 108 mm from the top. Tests check the address's coordinates
// against the field both in our layout and as pdftotext reads them.
//
// Print services put their own marks (OMR, 2D codes) in the left and bottom
// margins; the body keeps 25 mm on the left and 25 mm at the bottom.
package letter
