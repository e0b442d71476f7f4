package peer

import (
	"net"
	"net/netip"
	"runtime"
	"testing"
)

// Lines as a little-endian Linux kernel prints them: a client on
// 127.0.0.1:51234 connected to 127.0.0.1:47800 (uid 1001), the server's
// accepted socket (uid 0), and an IPv4-mapped row in tcp6 (uid 1002).
const tcp4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:BAB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:C822 0100007F:BAB8 01 00000000:00000000 00:00000000 00000000  1001        0 4243 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:BAB8 0100007F:C822 01 00000000:00000000 00:00000000 00000000     0        0 4244 1 0000000000000000 20 4 30 10 -1
`

const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:C823 0000000000000000FFFF00000100007F:BAB8 01 00000000:00000000 00:00000000 00000000  1002        0 5 1 0 20 4 30 10 -1
   1: 00000000000000000000000001000000:C824 00000000000000000000000001000000:BAB8 01 00000000:00000000 00:00000000 00000000  1003        0 6 1 0 20 4 30 10 -1
`

func TestProcNetOwner(t *testing.T) {
	if !littleEndian() {
		t.Skip("the sample tables are as a little-endian kernel prints them")
	}
	server := netip.MustParseAddrPort("127.0.0.1:47800")
	v6server := netip.MustParseAddrPort("[::1]:47800")
	for _, tc := range []struct {
		name   string
		table  string
		client netip.AddrPort
		server netip.AddrPort
		want   User
		err    error
	}{
		{"client row, not the server's", tcp4, netip.MustParseAddrPort("127.0.0.1:51234"), server, "1001", nil},
		{"unknown port", tcp4, netip.MustParseAddrPort("127.0.0.1:51235"), server, "", ErrNotFound},
		{"other server port", tcp4, netip.MustParseAddrPort("127.0.0.1:51234"), netip.MustParseAddrPort("127.0.0.1:47801"), "", ErrNotFound},
		{"dual-stack client", tcp6, netip.MustParseAddrPort("127.0.0.1:51235"), server, "1002", nil},
		{"IPv6 loopback", tcp6, netip.MustParseAddrPort("[::1]:51236"), v6server, "1003", nil},
		{"empty", "", netip.MustParseAddrPort("127.0.0.1:51234"), server, "", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := procNetOwner([]byte(tc.table), tc.client, tc.server)
			if got != tc.want || err != tc.err {
				t.Fatalf("got %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func littleEndian() bool {
	switch runtime.GOARCH {
	case "amd64", "arm64", "386", "arm", "riscv64", "loong64", "mipsle", "mips64le", "ppc64le", "wasm":
		return true
	}
	return false
}

// FuzzProcNetTCP feeds the socket-table parser arbitrary tables: it must
// never panic, and whatever it returns must be a number from the table.
func FuzzProcNetTCP(f *testing.F) {
	f.Add([]byte(tcp4), uint16(51234))
	f.Add([]byte(tcp6), uint16(51235))
	f.Fuzz(func(t *testing.T, table []byte, port uint16) {
		client := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
		u, err := procNetOwner(table, client, netip.MustParseAddrPort("127.0.0.1:47800"))
		if err == nil && u == "" {
			t.Fatal("no error and no user")
		}
	})
}

// TestOwnerOfRealConnection asks the OS about a real loopback connection
// made by this process: its owner is this user, on IPv4 and IPv6.
func TestOwnerOfRealConnection(t *testing.T) {
	if !Supported {
		t.Skip("not supported on " + runtime.GOOS)
	}
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("%s: %v", addr, err)
			continue
		}
		defer ln.Close()
		pl := &Listener{Listener: ln, Allow: Only(self)}
		got := make(chan net.Conn, 1)
		go func() {
			c, err := pl.Accept()
			if err == nil {
				got <- c
			}
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s := <-got
		u, err := s.(*Conn).User()
		if err != nil || u != self {
			t.Fatalf("%s: owner %q, %v; want %q", addr, u, err, self)
		}
		s.Close()
		c.Close()
	}
}

// TestListenerRefusesOthers: a listener that allows only another user
// closes this user's connection without a byte.
func TestListenerRefusesOthers(t *testing.T) {
	if !Supported {
		t.Skip("not supported on " + runtime.GOOS)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := make(chan User, 1)
	pl := &Listener{Listener: ln, Allow: Only("nobody-at-all"), Refused: func(u User, err error) { refused <- u }}
	wrote := make(chan error, 1)
	go func() {
		// The server tries to answer at once: the write waits for the
		// check and fails, nothing reaches the client.
		s, err := pl.Accept()
		if err == nil {
			_, err = s.Write([]byte("the page with the CSRF token"))
		}
		wrote <- err
	}()
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	self, _ := Self()
	if u := <-refused; u != self {
		t.Fatalf("refused %q, want %q", u, self)
	}
	buf := make([]byte, 1)
	if n, err := c.Read(buf); n != 0 || err == nil {
		t.Fatalf("read %d, %v from a refused connection", n, err)
	}
	if err := <-wrote; err != ErrRefused {
		t.Fatalf("server write on a refused connection: %v", err)
	}
	if pl.Count.Load() != 1 {
		t.Fatalf("count %d", pl.Count.Load())
	}
}

// BenchmarkOwner is the cost the check adds to each accepted connection.
func BenchmarkOwner(b *testing.B) {
	if !Supported {
		b.Skip("not supported on " + runtime.GOOS)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// Seen from the server: swap the ends with a stand-in conn.
	s := swapped{c}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Owner(s); err != nil {
			b.Fatal(err)
		}
	}
}

// swapped presents a client's connection as the server sees it.
type swapped struct{ net.Conn }

func (s swapped) LocalAddr() net.Addr  { return s.Conn.RemoteAddr() }
func (s swapped) RemoteAddr() net.Addr { return s.Conn.LocalAddr() }
