package peer

import (
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Supported reports whether Owner works on this platform.
const Supported = true

var (
	iphlpapi                = windows.NewLazySystemDLL("iphlpapi.dll")
	procGetExtendedTcpTable = iphlpapi.NewProc("GetExtendedTcpTable")
)

const tcpTableOwnerPIDConnections = 4 // TCP_TABLE_OWNER_PID_CONNECTIONS

// tcpOwner finds the process that owns the client's socket in the system
// TCP table, then the user in that process's token.
func tcpOwner(server, client netip.AddrPort) (User, error) {
	af, v6 := uint32(windows.AF_INET), false
	if client.Addr().Is6() {
		af, v6 = windows.AF_INET6, true
	}
	buf, err := extendedTCPTable(af)
	if err != nil {
		return "", err
	}
	pid, err := tablePID(buf, v6, client, server)
	if errors.Is(err, ErrNotFound) && !v6 {
		// A dual-stack client socket is listed in the IPv6 table with a
		// mapped address.
		if buf, err = extendedTCPTable(windows.AF_INET6); err != nil {
			return "", err
		}
		pid, err = tablePID(buf, true, client, server) // rowAddr unmaps
	}
	if err != nil {
		return "", err
	}
	return ProcessUser(pid)
}

func extendedTCPTable(af uint32) ([]byte, error) {
	size := uint32(16 << 10)
	for range 5 {
		buf := make([]byte, size)
		r, _, _ := procGetExtendedTcpTable.Call(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0, uintptr(af), tcpTableOwnerPIDConnections, 0)
		switch windows.Errno(r) {
		case 0:
			return buf[:min(int(size), len(buf))], nil
		case windows.ERROR_INSUFFICIENT_BUFFER:
			size += 4 << 10 // the table may grow between the calls
			continue
		default:
			return nil, fmt.Errorf("peer: GetExtendedTcpTable: %w", windows.Errno(r))
		}
	}
	return nil, errors.New("peer: GetExtendedTcpTable: the table keeps growing")
}

// ProcessUser returns the SID of the user in the token of process pid.
func ProcessUser(pid uint32) (User, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return "", fmt.Errorf("peer: open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return "", fmt.Errorf("peer: token of process %d: %w", pid, err)
	}
	defer tok.Close()
	return tokenUser(tok)
}

func tokenUser(tok windows.Token) (User, error) {
	tu, err := tok.GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("peer: token user: %w", err)
	}
	return User(tu.User.Sid.String()), nil
}

// Self is the user this process runs as.
func Self() (User, error) {
	return tokenUser(windows.GetCurrentProcessToken())
}

// System is the LocalSystem account the door runs as.
const System User = "S-1-5-18"

// PipeServerUser returns the user of the process that created the server
// end of the named pipe h (the door checks an agent's pipe with it).
func PipeServerUser(h windows.Handle) (User, error) {
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(h, &pid); err != nil {
		return "", fmt.Errorf("peer: pipe server process: %w", err)
	}
	return ProcessUser(pid)
}

// PipeClientUser returns the user of the process at the client end of the
// named pipe h.
func PipeClientUser(h windows.Handle) (User, error) {
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(h, &pid); err != nil {
		return "", fmt.Errorf("peer: pipe client process: %w", err)
	}
	return ProcessUser(pid)
}

// Administrators is the BUILTIN\Administrators group, which Windows may
// make the owner of objects a LocalSystem service creates.
const Administrators User = "S-1-5-32-544"

// PipeOwner returns the owner SID of the named pipe h, from its security
// descriptor: the account that created the pipe. An ordinary user cannot
// open a LocalSystem process's token, so this, not PipeServerUser, is how
// an agent checks that the door's pipe was made by the machine's service.
func PipeOwner(h windows.Handle) (User, error) {
	sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return "", fmt.Errorf("peer: pipe security: %w", err)
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return "", fmt.Errorf("peer: pipe owner: %v", err)
	}
	return User(owner.String()), nil
}
