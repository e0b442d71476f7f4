package peer

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
)

// macOS answers sysctl net.inet.tcp.pcblist_n — the list netstat reads —
// with a struct xinpgen, then for every TCP socket (IPv4 and IPv6 alike) a
// group of records, then a closing xinpgen. Every record starts with its
// length and kind (XNU's struct xgen_n) and the next one begins at the
// length rounded up to 8 bytes (ROUNDUP64). The kernel (in_pcblist.c,
// get_pcblist_n) writes a group as xinpcb_n, xsocket_n, two xsockbuf_n,
// xsockstat_n and xtcpcb_n, in that order. The parser is portable so it is
// tested and fuzzed on every platform; only the sysctl call is in
// owner_darwin.go.
//
// The offsets below are from XNU's headers under their #pragma pack(4)
// (bsd/netinet/in_pcb.h, bsd/sys/socketvar.h, bsd/netinet/tcp_var.h and
// tcp_timer.h), read in xnu-7195 (macOS 11) and xnu-11215 (macOS 15). The
// fields read here have not moved since xnu-2050 (OS X 10.8), when
// xsocket_n's so_options grew to 32 bits; records only grew at their ends
// since, so each record's length is checked against the last field read,
// never against a fixed size. All integers are little-endian (every Mac:
// x86-64 and arm64); ports are in network order, as the kernel keeps them.
const (
	xinpgenSize = 24 // u32 xig_len, u32 xig_count, u64 xig_gen, u64 xig_sogen

	// xgn_kind values (socketvar.h).
	xsoSocket = 0x001
	xsoInpcb  = 0x010
	xsoTcpcb  = 0x020

	// struct xinpcb_n: u32 xi_len, u32 xi_kind, u64 xi_inpp, u16 inp_fport,
	// u16 inp_lport, u64 inp_ppcb, u64 inp_gencnt, i32 inp_flags,
	// u32 inp_flow, u8 inp_vflag, u8 inp_ip_ttl, u8 inp_ip_p, (pad),
	// 16-byte foreign address, 16-byte local address, ...
	inpFport   = 16
	inpLport   = 18
	inpVflag   = 44
	inpFaddr   = 48
	inpLaddr   = 64
	inpMinSize = inpLaddr + 16

	// inp_vflag bits (in_pcb.h). An INP_IPV4 address is an in_addr_4in6:
	// three zero words, then the IPv4 address. A dual-stack socket that
	// connects to an IPv4-mapped address is turned into INP_IPV4 by the
	// kernel, so a client reaching 127.0.0.1 is always listed as IPv4.
	inpIPv4 = 0x1
	inpIPv6 = 0x2

	// struct xsocket_n: u32 xso_len, u32 xso_kind, u64 xso_so, i16 so_type,
	// (pad), u32 so_options, i16 so_linger, i16 so_state, u64 so_pcb,
	// i32 xso_protocol, i32 xso_family, i16 so_qlen, i16 so_incqlen,
	// i16 so_qlimit, i16 so_timeo, u16 so_error, (pad), i32 so_pgid,
	// u32 so_oobmark, u32 so_uid, ...
	// xso_so is a (permuted) kernel address, zero exactly when the PCB has
	// no socket — then so_uid is zero too and must not read as root's.
	soHandle  = 8
	soUID     = 64
	soMinSize = soUID + 4

	// struct xtcpcb_n: u32 xt_len, u32 xt_kind, u64 t_segq, i32 t_dupacks,
	// i32 t_timer[TCPT_NTIMERS_EXT = 4], i32 t_state, ...
	tcpState   = 36
	tcpMinSize = tcpState + 4

	// TCP states (tcp_fsm.h) in which the socket's owner may be gone.
	tcpsClosed   = 0
	tcpsTimeWait = 10
)

// pcb is one socket's group of records, as far as it has been read.
type pcb struct {
	local, foreign netip.AddrPort
	ip             bool // an IPv4 or IPv6 PCB (inp_vflag)
	haveSocket     bool
	live           bool // a kernel socket stands behind it (xso_so != 0)
	uid            uint32
	haveTCP        bool
	state          uint32
}

// pcbListOwner finds, in the answer of sysctl net.inet.tcp.pcblist_n, the
// socket whose local end is client and whose foreign end is server — the
// client's own socket — and returns the uid that created it (so_uid, the
// effective uid, as the kernel checks it). A socket without a live kernel
// socket or in TIME_WAIT/CLOSED names no one. Two live sockets on the same
// ends with different users are refused rather than picked from. A list
// that does not parse to its closing record is an error, never a guess.
func pcbListOwner(buf []byte, client, server netip.AddrPort) (User, error) {
	if len(buf) < xinpgenSize {
		return "", pcbListErr(0, "shorter than its header")
	}
	hdrLen := binary.LittleEndian.Uint32(buf)
	count := binary.LittleEndian.Uint32(buf[4:])
	if hdrLen < xinpgenSize || uint64(hdrLen) > uint64(len(buf)) {
		return "", pcbListErr(0, fmt.Sprintf("header of %d bytes", hdrLen))
	}
	off := roundUp8(int(hdrLen))
	var (
		cur   pcb
		in    bool // cur holds a group being read
		found bool
		uid   uint32
	)
	// finish judges the group just read.
	finish := func(at int) error {
		if !in {
			return nil
		}
		p := cur
		in = false
		if !p.haveSocket {
			return pcbListErr(at, "a PCB without its socket record")
		}
		if !p.ip || !p.live || p.local != client || p.foreign != server {
			return nil
		}
		if p.haveTCP && (p.state == tcpsClosed || p.state == tcpsTimeWait) {
			return nil
		}
		if found && uid != p.uid {
			return fmt.Errorf("peer: pcblist_n: two sockets on %s->%s, uid %d and %d", client, server, uid, p.uid)
		}
		found, uid = true, p.uid
		return nil
	}
	for {
		if off >= len(buf) {
			// The kernel closes a non-empty list with a second xinpgen
			// and writes only the header for an empty one; anything else
			// was cut short.
			if count != 0 || off != roundUp8(int(hdrLen)) {
				return "", pcbListErr(off, "no closing record")
			}
			break
		}
		if len(buf)-off < 8 {
			return "", pcbListErr(off, "a truncated record")
		}
		n := binary.LittleEndian.Uint32(buf[off:])
		kind := binary.LittleEndian.Uint32(buf[off+4:])
		if uint64(n) > uint64(len(buf)-off) {
			return "", pcbListErr(off, fmt.Sprintf("a record of %d bytes past the end", n))
		}
		if n <= xinpgenSize {
			if n != xinpgenSize {
				return "", pcbListErr(off, fmt.Sprintf("a record of %d bytes", n))
			}
			// The closing xinpgen: nothing may follow it.
			if err := finish(off); err != nil {
				return "", err
			}
			if off+xinpgenSize != len(buf) {
				return "", pcbListErr(off, "bytes after the closing record")
			}
			break
		}
		rec := buf[off : off+int(n)]
		switch kind {
		case xsoInpcb:
			if err := finish(off); err != nil {
				return "", err
			}
			if len(rec) < inpMinSize {
				return "", pcbListErr(off, fmt.Sprintf("an xinpcb_n of %d bytes", len(rec)))
			}
			cur, in = readInpcb(rec), true
		case xsoSocket:
			if !in || cur.haveSocket {
				return "", pcbListErr(off, "a socket record outside a PCB")
			}
			if len(rec) < soMinSize {
				return "", pcbListErr(off, fmt.Sprintf("an xsocket_n of %d bytes", len(rec)))
			}
			cur.haveSocket = true
			cur.live = binary.LittleEndian.Uint64(rec[soHandle:]) != 0
			cur.uid = binary.LittleEndian.Uint32(rec[soUID:])
		case xsoTcpcb:
			if !in || cur.haveTCP {
				return "", pcbListErr(off, "a TCP record outside a PCB")
			}
			if len(rec) < tcpMinSize {
				return "", pcbListErr(off, fmt.Sprintf("an xtcpcb_n of %d bytes", len(rec)))
			}
			cur.haveTCP = true
			cur.state = binary.LittleEndian.Uint32(rec[tcpState:])
		default:
			// Socket buffers and statistics (kind 0 when there is no
			// socket): nothing here decides who owns the socket.
		}
		off += roundUp8(int(n))
	}
	if err := finish(len(buf)); err != nil {
		return "", err
	}
	if !found {
		return "", ErrNotFound
	}
	return User(strconv.FormatUint(uint64(uid), 10)), nil
}

// readInpcb reads a PCB's two ends; rec holds at least inpMinSize bytes.
func readInpcb(rec []byte) pcb {
	var p pcb
	vflag := rec[inpVflag]
	lport := binary.BigEndian.Uint16(rec[inpLport:])
	fport := binary.BigEndian.Uint16(rec[inpFport:])
	switch {
	case vflag&inpIPv4 != 0:
		p.ip = true
		p.local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(rec[inpLaddr+12:inpLaddr+16])), lport)
		p.foreign = netip.AddrPortFrom(netip.AddrFrom4([4]byte(rec[inpFaddr+12:inpFaddr+16])), fport)
	case vflag&inpIPv6 != 0:
		p.ip = true
		p.local = netip.AddrPortFrom(netip.AddrFrom16([16]byte(rec[inpLaddr:inpLaddr+16])).Unmap(), lport)
		p.foreign = netip.AddrPortFrom(netip.AddrFrom16([16]byte(rec[inpFaddr:inpFaddr+16])).Unmap(), fport)
	}
	return p
}

func roundUp8(n int) int { return (n + 7) &^ 7 }

func pcbListErr(off int, what string) error {
	return fmt.Errorf("peer: pcblist_n: %s at byte %d", what, off)
}
