package peer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// procNetOwner finds, in the text of /proc/net/tcp or /proc/net/tcp6, the
// socket whose local end is client and whose remote end is server — the
// client's own socket — and returns the uid column of that row. It is a
// parser of a kernel table, kept free of I/O so it can be fuzzed; rows it
// cannot read are skipped, never guessed at.
func procNetOwner(table []byte, client, server netip.AddrPort) (User, error) {
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	first := true
	for sc.Scan() {
		if first { // the header line
			first = false
			continue
		}
		f := bytes.Fields(sc.Bytes())
		// sl local rem st queues timer retrnsmt uid ...
		if len(f) < 8 {
			continue
		}
		local, err := parseProcAddr(f[1])
		if err != nil || local != client {
			continue
		}
		rem, err := parseProcAddr(f[2])
		if err != nil || rem != server {
			continue
		}
		uid, err := strconv.ParseUint(string(f[7]), 10, 32)
		if err != nil {
			return "", fmt.Errorf("peer: bad uid %q in the socket table", f[7])
		}
		return User(strconv.FormatUint(uid, 10)), nil
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("peer: read socket table: %w", err)
	}
	return "", ErrNotFound
}

// parseProcAddr reads "0100007F:1F90" (IPv4) or 32 hex digits ":PORT"
// (IPv6). The kernel prints each 32-bit word of the address as a number in
// the host's byte order; the port is big-endian hex. IPv4-mapped IPv6
// addresses are unmapped, so a dual-stack client matches its IPv4 peer.
func parseProcAddr(s []byte) (netip.AddrPort, error) {
	i := bytes.IndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, errors.New("no port")
	}
	hexAddr, hexPort := s[:i], s[i+1:]
	if len(hexPort) != 4 {
		return netip.AddrPort{}, errors.New("bad port")
	}
	port, err := strconv.ParseUint(string(hexPort), 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	raw := make([]byte, hex.DecodedLen(len(hexAddr)))
	if _, err := hex.Decode(raw, hexAddr); err != nil {
		return netip.AddrPort{}, err
	}
	if len(raw) != 4 && len(raw) != 16 {
		return netip.AddrPort{}, errors.New("bad address length")
	}
	// hex.Decode gave the printed digits' bytes (big-endian per word);
	// turn each word back into memory order.
	for w := 0; w < len(raw); w += 4 {
		v := binary.BigEndian.Uint32(raw[w:])
		binary.NativeEndian.PutUint32(raw[w:], v)
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
