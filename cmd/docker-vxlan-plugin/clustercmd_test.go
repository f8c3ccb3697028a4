package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestClusterCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"forget-node"},
		{"forget-node", "h3"}, // no etcd
		{"forget-node", "--etcd-endpoints", "http://127.0.0.1:2379"}, // no node
		{"frobnicate", "--etcd-endpoints", "http://127.0.0.1:2379"},
		{"show", "--etcd-endpoints", "not-a-url"},
	} {
		var out, errOut bytes.Buffer
		if code := runCluster(args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("cluster %q: exit %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

// An etcd that does not answer is an error naming it within the command's
// bound, never a hang.
func TestClusterCommandWithoutEtcd(t *testing.T) {
	var out, errOut bytes.Buffer
	start := time.Now()
	code := runCluster([]string{"forget-node", "h3", "--etcd-endpoints", "http://127.0.0.1:1"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "etcd") {
		t.Fatalf("exit %d, stderr %q; want 1 and an error naming etcd", code, errOut.String())
	}
	if took := time.Since(start); took > commandTimeout+2*time.Second {
		t.Fatalf("took %s", took)
	}
}
