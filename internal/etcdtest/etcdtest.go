// Package etcdtest runs a real etcd for tests: Debian's `etcd` binary (from
// etcd-server) on 127.0.0.1 with free ports and a data directory of its own,
// which it can stop, kill and start again on the same data and ports.
//
// A missing binary fails the test with a message saying what to install:
// the point of these tests is the real server, so they never skip.
package etcdtest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	readyWait = 15 * time.Second // etcd starts in under 2 s here; this is for slow CI machines
	stopWait  = 5 * time.Second  // a graceful stop that takes longer is killed
)

// Server is one etcd process a test owns. It is killed and its data removed
// when the test ends, pass or fail.
type Server struct {
	t         testing.TB
	bin       string
	dir       string
	scheme    string   // of client URLs: http or https
	flags     []string // extra etcd flags (TLS)
	tls       *tls.Config
	ctlFlags  []string // etcdctl's flags to reach it
	clientURL string
	peerURL   string
	proc      *exec.Cmd
	exited    chan struct{} // closed when proc has been waited for
}

// Start runs a fresh single-member etcd and waits until it serves clients.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, "http", nil, nil, nil)
}

func start(t testing.TB, scheme string, flags []string, tlsConfig *tls.Config, ctlFlags []string) *Server {
	t.Helper()
	bin := os.Getenv("ETCD_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("etcd"); err != nil {
			t.Fatalf("etcd binary not found in PATH (install Debian's etcd-server: apt-get install etcd-server, or set ETCD_BIN): %v", err)
		}
	}
	s := &Server{t: t, bin: bin, dir: dataRoot(t), scheme: scheme, flags: flags, tls: tlsConfig, ctlFlags: ctlFlags}
	t.Cleanup(s.Kill)
	// Free ports are found by binding and releasing them; another process
	// may take one in between, so a start that fails is retried on new ones.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		s.clientURL, s.peerURL = scheme+"://"+freeAddr(t), "http://"+freeAddr(t)
		if err = s.start(); err == nil {
			return s
		}
		_ = os.RemoveAll(s.dataDir())
	}
	t.Fatalf("start etcd: %v", err)
	return nil
}

// Endpoint is the client URL, for clientv3.Config.Endpoints.
func (s *Server) Endpoint() string { return s.clientURL }

// Addr is the client address host:port, for a Proxy in front of it.
func (s *Server) Addr() string { return strings.TrimPrefix(s.clientURL, s.scheme+"://") }

// Stop ends etcd gracefully (SIGTERM), killing it if it takes too long.
func (s *Server) Stop() {
	s.t.Helper()
	if !s.running() {
		return
	}
	_ = s.proc.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopWait):
		s.Kill()
	}
}

// Kill ends etcd at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	if !s.running() {
		return
	}
	_ = s.proc.Process.Kill()
	<-s.exited
}

// Restart starts a stopped etcd again on the same data directory and ports.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("restart etcd: %v", err)
	}
}

// Wipe stops etcd and starts an empty one on the same ports, as if its
// data were lost.
func (s *Server) Wipe() {
	s.t.Helper()
	s.Stop()
	if err := os.RemoveAll(s.dataDir()); err != nil {
		s.t.Fatalf("wipe etcd data: %v", err)
	}
	if err := s.start(); err != nil {
		s.t.Fatalf("start etcd again: %v", err)
	}
}

// Ctl runs etcdctl against this server and returns its output; a failure
// fails the test.
func (s *Server) Ctl(args ...string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "etcdctl", slices.Concat([]string{"--endpoints", s.clientURL}, s.ctlFlags, args)...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("etcdctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s *Server) running() bool {
	if s.proc == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) logPath() string { return filepath.Join(s.dir, "etcd.log") }

// start launches the process on s's ports and data and waits for /health.
func (s *Server) start() error {
	if err := os.MkdirAll(s.dataDir(), 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	logf, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open etcd log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, append([]string{
		"--name", "test",
		"--data-dir", s.dataDir(),
		"--listen-client-urls", s.clientURL,
		"--advertise-client-urls", s.clientURL,
		"--listen-peer-urls", s.peerURL,
		"--initial-advertise-peer-urls", s.peerURL,
		"--initial-cluster", "test=" + s.peerURL,
		"--logger", "zap", "--log-outputs", "stderr",
	}, s.flags...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C meant for `go test` reaches the test,
	// whose cleanup then ends etcd, rather than etcd directly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	s.proc, s.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(s.exited)
	if err := s.waitReady(); err != nil {
		s.Kill()
		return fmt.Errorf("%w\n--- etcd log (%s) ---\n%s", err, s.logPath(), s.logTail())
	}
	return nil
}

// waitReady polls etcd's /health until it reports a leader.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyWait)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: s.tls}}
	defer client.CloseIdleConnections()
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("etcd exited while starting")
		default:
		}
		if resp, err := client.Get(s.clientURL + "/health"); err == nil {
			healthy := resp.StatusCode == http.StatusOK
			resp.Body.Close()
			if healthy {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("etcd not healthy at %s after %s", s.clientURL, readyWait)
}

func (s *Server) logTail() string {
	data, err := os.ReadFile(s.logPath())
	if err != nil {
		return err.Error()
	}
	const max = 4000
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(data)
}

// dataRoot is a directory for etcd's data, removed when the test ends. It
// is in memory (/dev/shm) where there is one: etcd fsyncs every write, and
// on a busy CI disk a test would time its fsyncs rather than the code.
func dataRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "etcdtest-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// freeAddr returns a loopback host:port nothing listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}
