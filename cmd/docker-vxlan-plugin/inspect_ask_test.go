package main

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A daemon that holds the connection without answering is reported as
// such, not taken for no daemon (which would send inspect to a state file
// the daemon holds locked).
func TestAskDaemonTellsSlowFromAbsent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "plugin.sock")
	if _, err := askDaemon(sock, time.Second); !errors.Is(err, errNoDaemon) {
		t.Fatalf("askDaemon with nobody on the socket = %v, want errNoDaemon", err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held, never answered
		}
	}()
	_, err = askDaemon(sock, 200*time.Millisecond)
	if err == nil || errors.Is(err, errNoDaemon) || !strings.Contains(err.Error(), "daemon on "+sock) {
		t.Fatalf("askDaemon with a daemon that does not answer = %v, want an error naming the daemon, not errNoDaemon", err)
	}
}
