package print

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
)

const (
	imageMarginMM = 15.0
	// naturalDPI is the resolution assumed for an image's natural size, so
	// a small logo or screenshot is not blown up to fill the page.
	naturalDPI = 96.0
	// maxPNGPixels bounds the memory a decoded PNG may take (about 4 bytes
	// a pixel), against decompression bombs.
	maxPNGPixels = 60 << 20
)

// writeJPEGPage adds a page showing a JPEG. PDF's DCTDecode filter takes the
// JPEG file as it is, so the data is copied to the output, never decoded.
func writeJPEGPage(d *docWriter, r io.Reader) error {
	// DecodeConfig reads up to the frame header; keep those bytes to write
	// them out again and to read the EXIF orientation from.
	var head bytes.Buffer
	cfg, err := jpeg.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		return fmt.Errorf("read JPEG header: %w", err)
	}
	dict := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 8 /Filter /DCTDecode", cfg.Width, cfg.Height)
	switch cfg.ColorModel {
	case color.GrayModel:
		dict += " /ColorSpace /DeviceGray"
	case color.CMYKModel:
		dict += " /ColorSpace /DeviceCMYK"
		if bytes.Contains(head.Bytes(), []byte("Adobe")) {
			// Adobe's CMYK JPEGs store inverted samples.
			dict += " /Decode [1 0 1 0 1 0 1 0]"
		}
	default:
		dict += " /ColorSpace /DeviceRGB"
	}
	id := d.alloc()
	if err := d.streamFrom(id, dict, io.MultiReader(&head, r)); err != nil {
		return fmt.Errorf("copy JPEG: %w", err)
	}
	d.page(imagePlacement(cfg.Width, cfg.Height, exifOrientation(head.Bytes())), fmt.Sprintf("/Im1 %d 0 R", id))
	return d.err
}

// writePNGPage adds a page showing a PNG, decoded to 8-bit samples and
// composited over white: paper is white, and it spares a soft mask.
func writePNGPage(d *docWriter, r io.Reader) error {
	var head bytes.Buffer
	cfg, err := png.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		return fmt.Errorf("read PNG header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPNGPixels {
		return unprintable(fmt.Errorf("PNG of %dx%d pixels is too large to print", cfg.Width, cfg.Height))
	}
	img, err := png.Decode(io.MultiReader(&head, r))
	if err != nil {
		return fmt.Errorf("decode PNG: %w", err)
	}
	b := img.Bounds()
	gray := false
	switch img.(type) {
	case *image.Gray, *image.Gray16:
		gray = true
	}
	comps, cs := 3, "/DeviceRGB"
	if gray {
		comps, cs = 1, "/DeviceGray"
	}
	id := d.alloc()
	dict := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 8 /ColorSpace %s /Filter /FlateDecode", b.Dx(), b.Dy(), cs)
	pr, pw := io.Pipe()
	go func() {
		zw := zlib.NewWriter(pw)
		err := writeSamples(zw, img, comps)
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	err = d.streamFrom(id, dict, pr)
	pr.CloseWithError(errors.New("print: image stream abandoned")) // unblocks the goroutine on error
	if err != nil {
		return fmt.Errorf("write PNG samples: %w", err)
	}
	d.page(imagePlacement(b.Dx(), b.Dy(), 1), fmt.Sprintf("/Im1 %d 0 R", id))
	return d.err
}

// writeSamples writes img row by row as 8-bit gray or RGB over white.
func writeSamples(w io.Writer, img image.Image, comps int) error {
	b := img.Bounds()
	row := make([]byte, b.Dx()*comps)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		i := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if comps == 1 {
				g := color.GrayModel.Convert(img.At(x, y)).(color.Gray)
				row[i] = g.Y
				i++
				continue
			}
			// Premultiplied RGBA over white: c + (1-a)·white.
			r, g, bl, a := img.At(x, y).RGBA()
			row[i] = byte((r + 0xffff - a) >> 8)
			row[i+1] = byte((g + 0xffff - a) >> 8)
			row[i+2] = byte((bl + 0xffff - a) >> 8)
			i += 3
		}
		if _, err := w.Write(row); err != nil {
			return err
		}
	}
	return nil
}

// imagePlacement returns a content stream that draws /Im1 centred on an
// A4 page, at its natural size or shrunk to fit inside the margins, turned
// as the camera's EXIF orientation says.
func imagePlacement(pxW, pxH, orientation int) []byte {
	w, h := float64(pxW)*72/naturalDPI, float64(pxH)*72/naturalDPI
	if orientation >= 5 && orientation <= 8 { // turned a quarter: shown sideways
		w, h = h, w
	}
	boxW := pageWidth - 2*imageMarginMM*mm
	boxH := pageHeight - 2*imageMarginMM*mm
	scale := min(1, boxW/w, boxH/h)
	w, h = w*scale, h*scale
	x, y := (pageWidth-w)/2, (pageHeight-h)/2

	// The image occupies the unit square; the matrix maps it onto the box,
	// rotating or mirroring per EXIF (the TIFF orientation values 1–8).
	var a, b, c, dd, e, f float64
	switch orientation {
	case 2:
		a, dd, e, f = -w, h, x+w, y
	case 3:
		a, dd, e, f = -w, -h, x+w, y+h
	case 4:
		a, dd, e, f = w, -h, x, y+h
	case 5:
		b, c, e, f = -h, -w, x+w, y+h
	case 6:
		b, c, e, f = -h, w, x, y+h
	case 7:
		b, c, e, f = h, w, x, y
	case 8:
		b, c, e, f = h, -w, x+w, y
	default:
		a, dd, e, f = w, h, x, y
	}
	return fmt.Appendf(nil, "q %s %s %s %s %s %s cm /Im1 Do Q\n", num(a), num(b), num(c), num(dd), num(e), num(f))
}

// exifOrientation finds the EXIF orientation tag in a JPEG's header
// segments, or returns 1 (as stored).
func exifOrientation(jpg []byte) int {
	p := 2 // after SOI
	for p+4 <= len(jpg) {
		if jpg[p] != 0xFF {
			return 1
		}
		marker := jpg[p+1]
		if marker == 0xDA || marker == 0xD9 { // start of scan, end: no more headers
			return 1
		}
		segLen := int(binary.BigEndian.Uint16(jpg[p+2:]))
		if segLen < 2 || p+2+segLen > len(jpg) {
			return 1
		}
		seg := jpg[p+4 : p+2+segLen]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		p += 2 + segLen
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	n := int(bo.Uint16(t[ifd:]))
	for i := 0; i < n; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}
