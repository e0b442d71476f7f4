package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"testing"
)

// Record sizes as macOS 13–15 write them (xnu-8792 … xnu-11215): the
// parser reads each record's own length, so tests also use other sizes.
const (
	inpSizeXNU   = 104
	soSizeXNU    = 104
	sbSizeXNU    = 32
	statSizeXNU  = 136
	tcpSizeXNU   = 204
	tcpsEstab    = 4
	fillerByte   = 0xA5 // fields the parser must not read are never zero
	soLastPIDOff = 68
	soOOBMarkOff = 60
)

// The builders write at offsets of their own, transcribed again from
// XNU's headers, so a wrong constant in the parser fails here instead of
// being mirrored by the test.
const (
	tInpFport  = 16
	tInpLport  = 18
	tInpVflag  = 44
	tInpFaddr  = 48
	tInpLaddr  = 64
	tSoHandle  = 8
	tSoUID     = 64
	tTCPState  = 36
	tInpgenLen = 24
)

// sock describes one PCB group the way get_pcblist_n writes it.
type sock struct {
	local, foreign netip.AddrPort
	vflag          byte // 0: INP_IPV4 or INP_IPV6 from the address
	uid            uint32
	noSocket       bool   // inp_socket == NULL: xsocket_n holds only len and kind
	state          uint32 // TCP state, tcpsEstab when 0
	closed         bool   // TCP state CLOSED
	userland       bool   // a user-space-stack flow: no kernel socket (xso_so 0), other fields set
	soSize         int    // xsocket_n length, soSizeXNU when 0
	noTCP          bool
}

// record returns a record of n bytes of kind, padded to 8, its body filled
// with filler.
func record(n int, kind uint32) []byte {
	b := bytes.Repeat([]byte{fillerByte}, roundUp8(n))
	binary.LittleEndian.PutUint32(b[0:], uint32(n))
	binary.LittleEndian.PutUint32(b[4:], kind)
	clear(b[n:])
	return b
}

func inpcbRecord(s sock) []byte {
	b := record(inpSizeXNU, xsoInpcb)
	binary.BigEndian.PutUint16(b[tInpFport:], s.foreign.Port())
	binary.BigEndian.PutUint16(b[tInpLport:], s.local.Port())
	vflag := s.vflag
	if vflag == 0 {
		vflag = inpIPv6
		if s.local.Addr().Is4() {
			vflag = inpIPv4
		}
	}
	b[tInpVflag] = vflag
	put := func(at int, a netip.Addr) {
		clear(b[at : at+16])
		if a.Is4() {
			v4 := a.As4()
			copy(b[at+12:], v4[:]) // in_addr_4in6
		} else {
			v6 := a.As16()
			copy(b[at:], v6[:])
		}
	}
	put(tInpFaddr, s.foreign.Addr())
	put(tInpLaddr, s.local.Addr())
	return b
}

func socketRecord(s sock) []byte {
	n := s.soSize
	if n == 0 {
		n = soSizeXNU
	}
	b := record(n, xsoSocket)
	if s.noSocket { // sotoxsocket_n(NULL): bzero'd but for len and kind
		clear(b[8:n])
		return b
	}
	binary.LittleEndian.PutUint64(b[tSoHandle:], 0xfeedface00001234)
	if s.userland {
		binary.LittleEndian.PutUint64(b[tSoHandle:], 0)
	}
	binary.LittleEndian.PutUint32(b[soOOBMarkOff:], 888)
	if n >= tSoUID+4 { // a short record for the tests of refusal
		binary.LittleEndian.PutUint32(b[tSoUID:], s.uid)
	}
	if n >= soLastPIDOff+4 {
		binary.LittleEndian.PutUint32(b[soLastPIDOff:], 777)
	}
	return b
}

func tcpRecord(s sock) []byte {
	b := record(tcpSizeXNU, xsoTcpcb)
	state := s.state
	if state == 0 {
		state = tcpsEstab
	}
	if s.closed {
		state = tcpsClosed
	}
	binary.LittleEndian.PutUint32(b[tTCPState-4:], 3) // t_timer[3]
	binary.LittleEndian.PutUint32(b[tTCPState:], state)
	return b
}

func xinpgen(count uint32) []byte {
	b := make([]byte, tInpgenLen)
	binary.LittleEndian.PutUint32(b, tInpgenLen)
	binary.LittleEndian.PutUint32(b[4:], count)
	binary.LittleEndian.PutUint64(b[8:], 4242)
	return b
}

// pcbList builds a whole sysctl answer: header, groups, closing header.
func pcbList(socks ...sock) []byte {
	b := xinpgen(uint32(len(socks)))
	if len(socks) == 0 {
		return b // the kernel writes no closing record for an empty list
	}
	for _, s := range socks {
		b = append(b, inpcbRecord(s)...)
		b = append(b, socketRecord(s)...)
		sbKind := uint32(0x002)
		if s.noSocket {
			sbKind = 0
		}
		b = append(b, record(sbSizeXNU, sbKind)...)
		b = append(b, record(sbSizeXNU, sbKind<<1)...)
		b = append(b, record(statSizeXNU, 0x008)...)
		if !s.noTCP {
			b = append(b, tcpRecord(s)...)
		}
	}
	return append(b, xinpgen(uint32(len(socks)))...)
}

var (
	srv4 = netip.MustParseAddrPort("127.0.0.1:47800")
	cli4 = netip.MustParseAddrPort("127.0.0.1:51234")
	srv6 = netip.MustParseAddrPort("[::1]:47800")
	cli6 = netip.MustParseAddrPort("[::1]:51236")
)

// aHost is a loopback connection as the kernel lists it: the listener,
// the server's accepted socket (local = server, uid 0 when the door
// accepts), the client's socket (uid 501) and unrelated sockets.
func aHost() []sock {
	return []sock{
		{local: netip.MustParseAddrPort("0.0.0.0:47800"), foreign: netip.MustParseAddrPort("0.0.0.0:0"), uid: 0, state: 1},
		{local: srv4, foreign: cli4, uid: 0},
		{local: cli4, foreign: srv4, uid: 501},
		{local: netip.MustParseAddrPort("192.168.1.20:50000"), foreign: netip.MustParseAddrPort("17.253.144.10:443"), uid: 502},
		{local: srv6, foreign: cli6, uid: 0},
		{local: cli6, foreign: srv6, uid: 503},
	}
}

func TestPCBListOwner(t *testing.T) {
	host := pcbList(aHost()...)
	mapped := netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.1"), 51240)
	for _, tc := range []struct {
		name           string
		list           []byte
		client, server netip.AddrPort
		want           User
		err            error
	}{
		{"IPv4 client row, not the server's", host, cli4, srv4, "501", nil},
		{"IPv6 loopback", host, cli6, srv6, "503", nil},
		{"unknown client port", host, netip.MustParseAddrPort("127.0.0.1:51235"), srv4, "", ErrNotFound},
		{"other server port", host, cli4, netip.MustParseAddrPort("127.0.0.1:47801"), "", ErrNotFound},
		{"asked the other way round, the server's end answers", host, srv4, cli4, "0", nil},
		{"IPv4-mapped IPv6 PCB", pcbList(sock{local: mapped, foreign: netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.1"), 47800), vflag: inpIPv6, uid: 504}),
			netip.MustParseAddrPort("127.0.0.1:51240"), srv4, "504", nil},
		{"socketless PCB is no one, not root", pcbList(sock{local: cli4, foreign: srv4, noSocket: true}), cli4, srv4, "", ErrNotFound},
		{"a flow without a kernel socket is no one", pcbList(sock{local: cli4, foreign: srv4, uid: 0, userland: true}), cli4, srv4, "", ErrNotFound},
		{"TIME_WAIT names no one", pcbList(sock{local: cli4, foreign: srv4, uid: 501, state: tcpsTimeWait}), cli4, srv4, "", ErrNotFound},
		{"CLOSED names no one", pcbList(sock{local: cli4, foreign: srv4, uid: 501, closed: true}), cli4, srv4, "", ErrNotFound},
		{"a PCB that is neither IPv4 nor IPv6", pcbList(sock{local: cli4, foreign: srv4, uid: 501, vflag: 0x4}), cli4, srv4, "", ErrNotFound},
		{"same user twice", pcbList(sock{local: cli4, foreign: srv4, uid: 501}, sock{local: cli4, foreign: srv4, uid: 501}), cli4, srv4, "501", nil},
		{"no TCP record", pcbList(sock{local: cli4, foreign: srv4, uid: 501, noTCP: true}), cli4, srv4, "501", nil},
		{"xsocket_n of xnu-7195 (76 bytes)", pcbList(sock{local: cli4, foreign: srv4, uid: 505, soSize: 76}), cli4, srv4, "505", nil},
		{"a grown xsocket_n (a later macOS)", pcbList(sock{local: cli4, foreign: srv4, uid: 506, soSize: 140}), cli4, srv4, "506", nil},
		{"empty list", pcbList(), cli4, srv4, "", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pcbListOwner(tc.list, tc.client, tc.server)
			if got != tc.want || err != tc.err {
				t.Fatalf("got %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestPCBListRefusesDoubt: what the parser cannot read with certainty is
// an error, and an error names no user — never a guess, never a panic.
func TestPCBListRefusesDoubt(t *testing.T) {
	good := pcbList(aHost()...)
	bad := map[string][]byte{
		"two users on the same ends": pcbList(sock{local: cli4, foreign: srv4, uid: 501}, sock{local: cli4, foreign: srv4, uid: 502}),
		"short xsocket_n":            pcbList(sock{local: cli4, foreign: srv4, uid: 501, soSize: soMinSize - 4}),
		"bytes after the close":      append(bytes.Clone(good), make([]byte, 8)...),
		"a PCB without a socket record": func() []byte {
			b := xinpgen(1)
			b = append(b, inpcbRecord(sock{local: cli4, foreign: srv4})...)
			return append(b, xinpgen(1)...)
		}(),
		"a socket record first": func() []byte {
			b := xinpgen(1)
			b = append(b, socketRecord(sock{uid: 501})...)
			return append(b, xinpgen(1)...)
		}(),
		"two socket records": func() []byte {
			s := sock{local: cli4, foreign: srv4, uid: 501}
			b := xinpgen(1)
			b = append(b, inpcbRecord(s)...)
			b = append(b, socketRecord(s)...)
			b = append(b, socketRecord(sock{uid: 0})...)
			return append(b, xinpgen(1)...)
		}(),
		"a zero-length record": append(xinpgen(1), make([]byte, 32)...),
		"an empty list with a PCB": func() []byte {
			b := pcbList(sock{local: cli4, foreign: srv4, uid: 501})
			b = b[:len(b)-tInpgenLen]               // no closing record,
			binary.LittleEndian.PutUint32(b[4:], 0) // and a count of 0
			return b
		}(),
		"a record longer than the list": func() []byte {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint32(b[xinpgenSize:], 1<<31)
			return b
		}(),
		"a header longer than the list": func() []byte {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint32(b, uint32(len(b)+1))
			return b
		}(),
		"a short xinpcb_n": func() []byte {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint32(b[xinpgenSize:], inpMinSize-8)
			return b
		}(),
	}
	for name, list := range bad {
		t.Run(name, func(t *testing.T) {
			u, err := pcbListOwner(list, cli4, srv4)
			if err == nil || errors.Is(err, ErrNotFound) || u != "" {
				t.Fatalf("got %q, %v; want a format error", u, err)
			}
		})
	}
	// Every cut of a real list lacks its closing record.
	for n := range len(good) {
		u, err := pcbListOwner(good[:n], cli4, srv4)
		if err == nil || errors.Is(err, ErrNotFound) || u != "" {
			t.Fatalf("cut at %d of %d: got %q, %v", n, len(good), u, err)
		}
	}
}

// TestPCBListOffsets moves the uid one word either way: the parser must
// read exactly so_uid, and the ports and addresses exactly where XNU puts
// them.
func TestPCBListOffsets(t *testing.T) {
	list := pcbList(sock{local: cli4, foreign: srv4, uid: 501})
	at := tInpgenLen + roundUp8(inpSizeXNU)
	if got := binary.LittleEndian.Uint32(list[at+tSoUID:]); got != 501 {
		t.Fatalf("builder put uid %d at so_uid", got)
	}
	if u, _ := pcbListOwner(list, cli4, srv4); u != "501" {
		t.Fatalf("so_uid read as %q", u)
	}
	// Swapped ports or addresses do not match: direction is read right.
	swapped := pcbList(sock{local: srv4, foreign: cli4, uid: 501})
	if _, err := pcbListOwner(swapped, cli4, srv4); err != ErrNotFound {
		t.Fatalf("server's end taken for the client's: %v", err)
	}
	// A host-order port would read 0xD2C8 for 51234 and miss.
	wrongOrder := bytes.Clone(list)
	binary.LittleEndian.PutUint16(wrongOrder[tInpgenLen+tInpLport:], cli4.Port())
	if _, err := pcbListOwner(wrongOrder, cli4, srv4); err != ErrNotFound {
		t.Fatalf("little-endian port matched: %v", err)
	}
}

// FuzzPCBList feeds the pcblist_n parser arbitrary lists: it must never
// panic, and a user it names must be a number read from the list.
func FuzzPCBList(f *testing.F) {
	f.Add(pcbList(aHost()...), uint16(cli4.Port()))
	f.Add(pcbList(sock{local: cli6, foreign: srv6, uid: 503}), uint16(cli6.Port()))
	f.Add(pcbList(sock{local: cli4, foreign: srv4, noSocket: true}), uint16(cli4.Port()))
	f.Add(pcbList(), uint16(1))
	f.Fuzz(func(t *testing.T, list []byte, port uint16) {
		for _, srv := range []netip.AddrPort{srv4, srv6} {
			client := netip.AddrPortFrom(srv.Addr(), port)
			u, err := pcbListOwner(list, client, srv)
			if (err == nil) == (u == "") {
				t.Fatalf("user %q with error %v", u, err)
			}
			if err == nil {
				if _, perr := strconv.ParseUint(string(u), 10, 32); perr != nil {
					t.Fatalf("user %q is not a uid", u)
				}
			}
		}
	})
}

// BenchmarkPCBList: the parse the agent does per connection on macOS, for
// a host with 1,000 TCP sockets (the sysctl itself is not measured here).
func BenchmarkPCBList(b *testing.B) {
	socks := make([]sock, 0, 1000)
	for i := range 999 {
		p := uint16(20000 + i)
		socks = append(socks, sock{local: netip.AddrPortFrom(cli4.Addr(), p), foreign: srv4, uid: 501})
	}
	last := netip.AddrPortFrom(cli4.Addr(), 60000)
	socks = append(socks, sock{local: last, foreign: srv4, uid: 502})
	list := pcbList(socks...)
	b.SetBytes(int64(len(list)))
	for b.Loop() {
		if u, err := pcbListOwner(list, last, srv4); u != "502" || err != nil {
			b.Fatal(u, err)
		}
	}
}
