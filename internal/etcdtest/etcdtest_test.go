package etcdtest

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.Ctl("put", "k", "v1")
	s.Stop()
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("etcd still listens after Stop")
	}
	s.Restart()
	if out := s.Ctl("get", "k", "--print-value-only"); strings.TrimSpace(out) != "v1" {
		t.Fatalf("after restart k is %q", out)
	}
	s.Kill()
	s.Restart()
	if out := s.Ctl("get", "k", "--print-value-only"); strings.TrimSpace(out) != "v1" {
		t.Fatalf("after kill and restart k is %q", out)
	}
}

func TestProxyCut(t *testing.T) {
	t.Parallel()
	s := Start(t)
	p := NewProxy(t, s.Addr())
	c, err := net.Dial("tcp", strings.TrimPrefix(p.Endpoint(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p.Cut()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeoutErr(err) {
		t.Fatalf("relayed connection after Cut: %v, want closed", err)
	}
	p.Restore()
	c2, err := net.Dial("tcp", strings.TrimPrefix(p.Endpoint(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Write([]byte("GET /health HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = c2.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 64)
	if n, err := c2.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.0 200") {
		t.Fatalf("through the restored proxy: %q, %v", buf[:n], err)
	}
}

func TestTLSServer(t *testing.T) {
	t.Parallel()
	s, _ := StartTLS(t)
	s.Ctl("put", "k", "v")
	if out := s.Ctl("get", "k", "--print-value-only"); strings.TrimSpace(out) != "v" {
		t.Fatalf("over TLS k is %q", out)
	}
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
