//go:build !windows

package door

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"sendsikkert/internal/peer"
	"sendsikkert/internal/privdir"
)

// machineUsers: the account a door runs as when it is installed.
var machineUsers = map[peer.User]bool{"0": true}

// checkEndpointPeers: the agent also checks each connection to its socket
// (SO_PEERCRED) — only root and the user can reach it through the 0700
// folder anyway, but the check holds if that is ever loosened.
const checkEndpointPeers = true

// doorUser, on the agent's side of the control socket, is who listens.
func doorUser(c net.Conn) (peer.User, error) { return peerUser(c) }

func validEndpoint(p string) bool { return validUnixEndpoint(p) }

func controlPath(runDir string, port int) string {
	return filepath.Join(runDir, "door-"+strconv.Itoa(port)+".sock")
}

// listenControl opens the door's control socket. Anyone may connect (the
// kernel then tells the door who they are); only the door's own user may
// have created the folder.
func listenControl(runDir string, port int) (net.Listener, error) {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, err
	}
	fi, err := os.Lstat(runDir)
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("door: %s must be a folder of this user that no one else can write", runDir)
	}
	path := controlPath(runDir, port)
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// removeStale removes a socket left by a process that died; a socket
// something still answers on is an error (another door, another agent).
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("door: %s exists and is not a socket", path)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("door: %s is in use", path)
	}
	return os.Remove(path)
}

// peerUser is who is at the other end of a control or endpoint connection.
func peerUser(c net.Conn) (peer.User, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return "", fmt.Errorf("door: %T is not a Unix socket", c)
	}
	u, _, err := peer.UnixOwner(uc)
	return u, err
}

// dialEndpoint connects to an agent's endpoint and makes sure, from the
// kernel, that the process listening there runs as want.
func dialEndpoint(ctx context.Context, endpoint string, want peer.User) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", endpoint)
	if err != nil {
		return nil, err
	}
	got, err := peerUser(c)
	if err != nil || got != want {
		c.Close()
		return nil, fmt.Errorf("%w: listener is %q, want %q (%v)", errNotYours, got, want, err)
	}
	return c, nil
}

func dialControl(ctx context.Context, runDir string, port int) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", controlPath(runDir, port))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDoor, err)
	}
	return c, nil
}

// listenEndpoint opens the agent's endpoint: a socket in a folder only
// its user can enter ($XDG_RUNTIME_DIR/sendsikkert, else the data folder),
// itself 0600.
func listenEndpoint(port int, self peer.User, fallbackDir string) (string, net.Listener, error) {
	dir := fallbackDir
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" && filepath.IsAbs(rt) {
		dir = filepath.Join(rt, "sendsikkert")
	}
	if err := privdir.Ensure(dir); err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "agent-"+strconv.Itoa(port)+".sock")
	if !validUnixEndpoint(path) {
		return "", nil, fmt.Errorf("door: endpoint path %s is too long for a socket", path)
	}
	if err := removeStale(path); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return "", nil, err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return "", nil, err
	}
	return path, ln, nil
}

// serverUser, on a client's side of a Unix socket, is the user who called
// listen: SO_PEERCRED answers that on both ends.
func serverUser(c net.Conn) (peer.User, error) { return peerUser(c) }
