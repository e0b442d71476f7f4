package tray

import (
	"encoding/binary"
)

// platformIcon wraps the PNG in an ICO container (PNG-in-ICO, Windows
// Vista and later), which is what the Windows tray loads.
func platformIcon(pngBytes []byte) []byte {
	b := make([]byte, 6+16, 6+16+len(pngBytes))
	binary.LittleEndian.PutUint16(b[2:], 1) // type: icon
	binary.LittleEndian.PutUint16(b[4:], 1) // one image
	e := b[6:]
	e[0], e[1] = 64, 64                      // width, height
	binary.LittleEndian.PutUint16(e[4:], 1)  // planes
	binary.LittleEndian.PutUint16(e[6:], 32) // bits per pixel
	binary.LittleEndian.PutUint32(e[8:], uint32(len(pngBytes)))
	binary.LittleEndian.PutUint32(e[12:], 22) // offset
	return append(b, pngBytes...)
}
