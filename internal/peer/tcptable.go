package peer

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Windows' GetExtendedTcpTable answers with TCP_TABLE_OWNER_PID_CONNECTIONS
// tables: a DWORD count, then fixed rows. The parsers are portable so they
// are tested and fuzzed on every platform.
const (
	tcpRow4Size = 24 // MIB_TCPROW_OWNER_PID
	tcpRow6Size = 56 // MIB_TCP6ROW_OWNER_PID
)

var errShortTable = errors.New("peer: TCP table shorter than its count")

// tablePID finds the row whose local end is client and remote end is
// server and returns its owning process id. v6 selects the row layout.
func tablePID(buf []byte, v6 bool, client, server netip.AddrPort) (uint32, error) {
	if len(buf) < 4 {
		return 0, errShortTable
	}
	n := binary.LittleEndian.Uint32(buf)
	size := tcpRow4Size
	if v6 {
		size = tcpRow6Size
	}
	if uint64(n)*uint64(size) > uint64(len(buf)-4) {
		return 0, errShortTable
	}
	for i := 0; i < int(n); i++ {
		row := buf[4+i*size : 4+(i+1)*size]
		var local, remote netip.AddrPort
		var pid uint32
		if v6 {
			// ucLocalAddr[16] dwLocalScopeId dwLocalPort ucRemoteAddr[16]
			// dwRemoteScopeId dwRemotePort dwState dwOwningPid
			local = rowAddr(row[0:16], row[20:24])
			remote = rowAddr(row[24:40], row[44:48])
			pid = binary.LittleEndian.Uint32(row[52:56])
		} else {
			// dwState dwLocalAddr dwLocalPort dwRemoteAddr dwRemotePort dwOwningPid
			local = rowAddr(row[4:8], row[8:12])
			remote = rowAddr(row[12:16], row[16:20])
			pid = binary.LittleEndian.Uint32(row[20:24])
		}
		if local == client && remote == server {
			return pid, nil
		}
	}
	return 0, ErrNotFound
}

// rowAddr reads an address in network order and a port DWORD whose low two
// bytes (in memory) hold the port in network order.
func rowAddr(addr, port []byte) netip.AddrPort {
	a, _ := netip.AddrFromSlice(addr)
	return netip.AddrPortFrom(a.Unmap(), binary.BigEndian.Uint16(port[:2]))
}
