package peer

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// row4 builds a MIB_TCPROW_OWNER_PID as Windows lays it out.
func row4(local, remote netip.AddrPort, pid uint32) []byte {
	b := make([]byte, tcpRow4Size)
	binary.LittleEndian.PutUint32(b[0:], 5) // ESTAB
	l, r := local.Addr().As4(), remote.Addr().As4()
	copy(b[4:8], l[:])
	binary.BigEndian.PutUint16(b[8:], local.Port())
	copy(b[12:16], r[:])
	binary.BigEndian.PutUint16(b[16:], remote.Port())
	binary.LittleEndian.PutUint32(b[20:], pid)
	return b
}

func row6(local, remote netip.AddrPort, pid uint32) []byte {
	b := make([]byte, tcpRow6Size)
	l, r := local.Addr().As16(), remote.Addr().As16()
	copy(b[0:16], l[:])
	binary.BigEndian.PutUint16(b[20:], local.Port())
	copy(b[24:40], r[:])
	binary.BigEndian.PutUint16(b[44:], remote.Port())
	binary.LittleEndian.PutUint32(b[48:], 5)
	binary.LittleEndian.PutUint32(b[52:], pid)
	return b
}

func table(rows ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(rows)))
	for _, r := range rows {
		b = append(b, r...)
	}
	return b
}

func TestTablePID(t *testing.T) {
	srv := netip.MustParseAddrPort("127.0.0.1:47800")
	cli := netip.MustParseAddrPort("127.0.0.1:50000")
	t4 := table(row4(srv, cli, 4), row4(cli, srv, 1234))
	if pid, err := tablePID(t4, false, cli, srv); pid != 1234 || err != nil {
		t.Fatalf("v4: %d, %v", pid, err)
	}
	if _, err := tablePID(t4, false, netip.MustParseAddrPort("127.0.0.1:50001"), srv); err != ErrNotFound {
		t.Fatalf("v4 unknown: %v", err)
	}
	mapped := netip.AddrPortFrom(netip.AddrFrom16(cli.Addr().As16()), cli.Port())
	msrv := netip.AddrPortFrom(netip.AddrFrom16(srv.Addr().As16()), srv.Port())
	t6 := table(row6(mapped, msrv, 77), row6(netip.MustParseAddrPort("[::1]:50002"), netip.MustParseAddrPort("[::1]:47800"), 88))
	if pid, err := tablePID(t6, true, cli, srv); pid != 77 || err != nil {
		t.Fatalf("mapped: %d, %v", pid, err)
	}
	if pid, err := tablePID(t6, true, netip.MustParseAddrPort("[::1]:50002"), netip.MustParseAddrPort("[::1]:47800")); pid != 88 || err != nil {
		t.Fatalf("v6: %d, %v", pid, err)
	}
	if _, err := tablePID(t4[:30], false, cli, srv); err != errShortTable {
		t.Fatalf("short: %v", err)
	}
}

// FuzzTCPTable: the Windows table parser never reads past its buffer.
func FuzzTCPTable(f *testing.F) {
	srv := netip.MustParseAddrPort("127.0.0.1:47800")
	cli := netip.MustParseAddrPort("127.0.0.1:50000")
	f.Add(table(row4(cli, srv, 1)), false)
	f.Add(table(row6(netip.MustParseAddrPort("[::1]:50000"), netip.MustParseAddrPort("[::1]:47800"), 2)), true)
	f.Fuzz(func(t *testing.T, buf []byte, v6 bool) {
		tablePID(buf, v6, cli, srv)
	})
}
