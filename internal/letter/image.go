package letter

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"codeberg.org/go-pdf/fpdf"
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
// JPEG file as it is, so it is never decoded: fpdf embeds the bytes.
func writeJPEGPage(d *doc, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read JPEG: %w", err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("read JPEG header: %w", err)
	}
	if cfg.ColorModel == color.CMYKModel {
		// fpdf embeds CMYK JPEGs without the /Decode inversion Adobe's
		// CMYK files need, and a print service wants RGB or gray anyway:
		// decode and re-encode those few.
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("decode CMYK JPEG: %w", err)
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
			return fmt.Errorf("re-encode CMYK JPEG: %w", err)
		}
		orientation := exifOrientation(data)
		data = buf.Bytes()
		return d.imagePage(data, "JPG", cfg.Width, cfg.Height, orientation)
	}
	return d.imagePage(data, "JPG", cfg.Width, cfg.Height, exifOrientation(data))
}

// writePNGPage adds a page showing a PNG, flattened (flattenPNG).
func writePNGPage(d *doc, r io.Reader) error {
	data, w, h, err := flattenPNG(r, "PNG")
	if err != nil {
		return err
	}
	return d.imagePage(data, "PNG", w, h, 1)
}

// flattenPNG decodes a PNG (or a GIF) and composites it over white (paper
// is white, and it spares a soft mask), re-encoded as an 8-bit,
// non-interlaced PNG: the kind fpdf reads, whatever the original was
// (16-bit, interlaced, paletted with transparency).
func flattenPNG(r io.Reader, typ string) ([]byte, int, int, error) {
	var head bytes.Buffer
	var cfg image.Config
	var err error
	if typ == "GIF" {
		cfg, err = gif.DecodeConfig(io.TeeReader(r, &head))
	} else {
		cfg, err = png.DecodeConfig(io.TeeReader(r, &head))
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("read %s header: %w", typ, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPNGPixels {
		return nil, 0, 0, unprintable(fmt.Errorf("%s of %dx%d pixels is too large to print", typ, cfg.Width, cfg.Height))
	}
	var img image.Image
	if typ == "GIF" {
		img, err = gif.Decode(io.MultiReader(&head, r))
	} else {
		img, err = png.Decode(io.MultiReader(&head, r))
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("decode %s: %w", typ, err)
	}
	b := img.Bounds()
	var flat image.Image
	switch img.(type) {
	case *image.Gray, *image.Gray16:
		g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				g.Set(x-b.Min.X, y-b.Min.Y, color.GrayModel.Convert(img.At(x, y)))
			}
		}
		flat = g
	default:
		// Opaque RGBA: Go's encoder writes it as plain 8-bit RGB.
		rgb := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				// Premultiplied RGBA over white: c + (1-a)·white.
				r, g, bl, a := img.At(x, y).RGBA()
				rgb.SetRGBA(x-b.Min.X, y-b.Min.Y, color.RGBA{
					R: byte((r + 0xffff - a) >> 8), G: byte((g + 0xffff - a) >> 8), B: byte((bl + 0xffff - a) >> 8), A: 0xff,
				})
			}
		}
		flat = rgb
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, flat); err != nil {
		return nil, 0, 0, fmt.Errorf("re-encode PNG: %w", err)
	}
	return buf.Bytes(), b.Dx(), b.Dy(), nil
}

// imagePage adds a page with the image centred, at its natural size or
// shrunk to fit inside the margins, turned as the camera's EXIF
// orientation (the TIFF values 1–8) says.
func (d *doc) imagePage(data []byte, typ string, pxW, pxH, orientation int) error {
	d.images++
	name := fmt.Sprintf("im%d", d.images)
	d.f.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: typ}, bytes.NewReader(data))
	if err := d.f.Error(); err != nil {
		return unprintable(fmt.Errorf("image: %w", err))
	}
	x, y, w, h := imageBox(pxW, pxH, orientation)
	d.addPage()
	// The image is drawn unturned in a box of its own proportions, centred
	// where the turned one goes; the transformation turns it about the
	// centre. fpdf applies the last transformation given first, so "mirror,
	// then turn" is written turn first.
	cx, cy := x+w/2, y+h/2
	dw, dh := w, h
	if orientation >= 5 && orientation <= 8 {
		dw, dh = h, w
	}
	d.f.TransformBegin()
	switch orientation {
	case 2:
		d.f.TransformMirrorHorizontal(cx)
	case 3:
		d.f.TransformRotate(180, cx, cy)
	case 4:
		d.f.TransformMirrorVertical(cy)
	case 5:
		d.f.TransformRotate(90, cx, cy)
		d.f.TransformMirrorHorizontal(cx)
	case 6:
		d.f.TransformRotate(-90, cx, cy)
	case 7:
		d.f.TransformRotate(-90, cx, cy)
		d.f.TransformMirrorHorizontal(cx)
	case 8:
		d.f.TransformRotate(90, cx, cy)
	}
	d.f.ImageOptions(name, cx-dw/2, cy-dh/2, dw, dh, false, fpdf.ImageOptions{ImageType: typ}, 0, "")
	d.f.TransformEnd()
	if err := d.f.Error(); err != nil {
		return unprintable(fmt.Errorf("image: %w", err))
	}
	return nil
}

// imageBox is where an image of pxW×pxH pixels shows on the page, as fpdf
// measures (points, y from the top), after turning for its orientation.
func imageBox(pxW, pxH, orientation int) (x, y, w, h float64) {
	w, h = float64(pxW)*72/naturalDPI, float64(pxH)*72/naturalDPI
	if orientation >= 5 && orientation <= 8 { // turned a quarter: shown sideways
		w, h = h, w
	}
	boxW := pageWidth - 2*imageMarginMM*mm
	boxH := pageHeight - 2*imageMarginMM*mm
	scale := min(1, boxW/w, boxH/h)
	w, h = w*scale, h*scale
	return (pageWidth - w) / 2, (pageHeight - h) / 2, w, h
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
