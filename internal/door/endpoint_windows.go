package door

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"

	"sendsikkert/internal/peer"
)

// DefaultRunDir is unused on Windows: the control endpoint is a named pipe.
const DefaultRunDir = ""

// DefaultStateDir holds the door's machine certificate.
var DefaultStateDir = filepath.Join(programData(), "Send sikkert", "door")

func programData() string {
	if p := os.Getenv("ProgramData"); p != "" {
		return p
	}
	return `C:\ProgramData`
}

// machineUsers may own the door's control pipe: LocalSystem, which the
// door's service runs as, or Administrators, which Windows may make the
// owner of what a LocalSystem service creates. No ordinary user can create
// an object owned by either.
var machineUsers = map[peer.User]bool{peer.System: true, peer.Administrators: true}

// checkEndpointPeers is false on Windows: the pipe's ACL (the user and
// SYSTEM, enforced by the kernel at open) is the check, because an
// ordinary user may not open the SYSTEM door's process token to ask again.
const checkEndpointPeers = false

// doorUser, on the agent's side of the control pipe, is the pipe's owner:
// an ordinary user may not open the door's process token, but may read the
// pipe's owner.
func doorUser(c net.Conn) (peer.User, error) {
	h, err := handle(c)
	if err != nil {
		return "", err
	}
	if u, err := peer.PipeServerUser(h); err == nil {
		return u, nil // the door runs as this user (tests) or we may see its token
	}
	return peer.PipeOwner(h)
}

func validEndpoint(p string) bool { return validPipeEndpoint(p) }

func controlPath(_ string, port int) string {
	return `\\.\pipe\sendsikkert-door-` + strconv.Itoa(port)
}

// controlSDDL: SYSTEM owns the pipe; any signed-in user may connect, read
// and write (the door then asks Windows who they are) — but not create
// instances: GENERIC_WRITE would include FILE_CREATE_PIPE_INSTANCE (it is
// FILE_APPEND_DATA), letting a user serve further instances of the door's
// pipe and pose as the door. 0x12019b is GENERIC_READ | FILE_WRITE_DATA |
// FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES. go-winio creates the first
// instance with FILE_CREATE — the NT form of FILE_FLAG_FIRST_PIPE_INSTANCE
// — so a user who squats the name before the service starts makes the door
// fail loudly instead of being impersonated, and it rejects remote
// clients.
const controlSDDL = "D:P(A;;GA;;;SY)(A;;0x12019b;;;AU)"

// controlAccess is what an agent opens the control pipe with: within
// controlSDDL's grant (no FILE_APPEND_DATA).
const controlAccess = windows.GENERIC_READ | windows.FILE_WRITE_DATA

func listenControl(runDir string, port int) (net.Listener, error) {
	return winio.ListenPipe(controlPath(runDir, port), &winio.PipeConfig{SecurityDescriptor: controlSDDL})
}

type fder interface{ Fd() uintptr }

func handle(c net.Conn) (windows.Handle, error) {
	f, ok := c.(fder)
	if !ok {
		return 0, fmt.Errorf("door: %T is not a named pipe", c)
	}
	return windows.Handle(f.Fd()), nil
}

// peerUser, on the door's side of the control pipe, is the client's user.
func peerUser(c net.Conn) (peer.User, error) {
	h, err := handle(c)
	if err != nil {
		return "", err
	}
	return peer.PipeClientUser(h)
}

// serverUser, on a client's side of a pipe, is the user of the process
// that created the pipe.
func serverUser(c net.Conn) (peer.User, error) {
	h, err := handle(c)
	if err != nil {
		return "", err
	}
	return peer.PipeServerUser(h)
}

// dialEndpoint opens an agent's pipe as SYSTEM, at go-winio's default
// anonymous impersonation level: the agent cannot act as SYSTEM.
func dialEndpoint(ctx context.Context, endpoint string, want peer.User) (net.Conn, error) {
	c, err := winio.DialPipeContext(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	got, err := serverUser(c)
	if err != nil || got != want {
		c.Close()
		return nil, fmt.Errorf("%w: pipe server is %q, want %q (%v)", errNotYours, got, want, err)
	}
	return c, nil
}

func dialControl(ctx context.Context, runDir string, port int) (net.Conn, error) {
	// Anonymous impersonation level (go-winio's default): whoever serves
	// the pipe cannot act as this user.
	c, err := winio.DialPipeAccess(ctx, controlPath(runDir, port), controlAccess)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDoor, err)
	}
	return c, nil
}

// listenEndpoint creates the agent's pipe: only its user and SYSTEM (the
// door) may open it, and it is created as the first instance of its name,
// so nobody can have squatted it.
func listenEndpoint(port int, self peer.User, _ string) (string, net.Listener, error) {
	name := PipePrefix + strconv.Itoa(port) + "-" + string(self)
	sddl := "D:P(A;;GA;;;" + string(self) + ")(A;;GA;;;SY)"
	ln, err := winio.ListenPipe(name, &winio.PipeConfig{SecurityDescriptor: sddl})
	if err != nil {
		return "", nil, fmt.Errorf("door: agent pipe %s: %w", name, err)
	}
	return name, ln, nil
}
