package tray

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"sync"
)

var (
	iconMu    sync.Mutex
	iconCache = map[[2]int][]byte{}
)

var stateColor = map[State]color.NRGBA{
	Ready:   {0x10, 0x7c, 0x10, 0xff}, // green
	Sending: {0x00, 0x78, 0xd4, 0xff}, // blue
	Problem: {0xc5, 0x0f, 0x1f, 0xff}, // red
}

var demoColor = color.NRGBA{0xf2, 0xc8, 0x11, 0xff} // amber ring: DEMO

// Icon is the tray icon for a state, as the platform wants it (PNG, or
// ICO on Windows): a filled disc in the state's colour with a white
// envelope; in demo mode an amber ring around it.
func Icon(st State, demo bool) []byte {
	k := [2]int{int(st), 0}
	if demo {
		k[1] = 1
	}
	iconMu.Lock()
	defer iconMu.Unlock()
	if b, ok := iconCache[k]; ok {
		return b
	}
	b := platformIcon(drawPNG(st, demo))
	iconCache[k] = b
	return b
}

func drawPNG(st State, demo bool) []byte {
	const n = 64
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	c := stateColor[st]
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := range n {
		for x := range n {
			dx, dy := float64(x)-31.5, float64(y)-31.5
			d := dx*dx + dy*dy
			switch {
			case d > 32*32:
				continue
			case demo && d > 25*25:
				img.SetNRGBA(x, y, demoColor)
			default:
				img.SetNRGBA(x, y, c)
			}
			// envelope: a white box with a V
			if x >= 18 && x <= 45 && y >= 22 && y <= 41 {
				border := x <= 19 || x >= 44 || y <= 23 || y >= 40
				fx := float64(x - 18)
				vy := 22 + fx*0.7
				if fx > 13.5 {
					vy = 22 + (27-fx)*0.7
				}
				if border || (float64(y) >= vy-1 && float64(y) <= vy+1) {
					img.SetNRGBA(x, y, white)
				}
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
