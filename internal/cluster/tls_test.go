package cluster

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/etcdtest"
)

// etcd over TLS with client certificates: hosts with the files work; a
// host without a client certificate fails fast naming etcd.
func TestTLS(t *testing.T) {
	t.Parallel()
	s, certs := etcdtest.StartTLS(t)
	if !strings.HasPrefix(s.Endpoint(), "https://") {
		t.Fatalf("endpoint %s", s.Endpoint())
	}
	withTLS := func(name, cert, key string) *node {
		cfg := testConfig(name, s.Endpoint())
		var err error
		if cfg.TLS, err = LoadTLS(certs.CAFile, cert, key); err != nil {
			t.Fatal(err)
		}
		return runNode(t, makeNode(t, cfg))
	}
	a := withTLS("a", certs.ClientCert, certs.ClientKey)
	b := withTLS("b", certs.ClientCert, certs.ClientKey)
	a.waitConnected(t)
	a.Join(42, ip("192.0.2.1"))
	if err := a.Publish(ctxT(t), endpoint("ep-a1", 42, "192.0.2.1", "02:42:0a:2a:00:02", "10.42.0.2")); err != nil {
		t.Fatal(err)
	}
	remoteIs(t, b, 42, "ep-a1")
	if err := b.DefineSegment(ctxT(t), seg(42, "10.42.0.0/24")); err != nil {
		t.Fatal(err)
	}

	anonymous := withTLS("c", "", "")
	start := time.Now()
	err := anonymous.Publish(ctxT(t), endpoint("ep-c1", 42, "192.0.2.3", "02:42:0a:2a:00:03", "10.42.0.3"))
	if took := time.Since(start); err == nil || took > testOpTimeout+500*time.Millisecond || !strings.Contains(err.Error(), s.Endpoint()) {
		t.Fatalf("publish without a client certificate: %v after %s", err, took)
	}
	if !strings.Contains(err.Error(), "tls") || !strings.Contains(anonymous.Status().Error, "tls") {
		t.Errorf("error %q, status %+v: neither says what failed (TLS)", err, anonymous.Status())
	}
}

func TestLoadTLSRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	for _, files := range [][3]string{
		{filepath.Join(dir, "missing.pem"), "", ""},
		{"", filepath.Join(dir, "cert.pem"), ""},
		{"", "", filepath.Join(dir, "key.pem")},
		{"", filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")},
	} {
		if _, err := LoadTLS(files[0], files[1], files[2]); err == nil {
			t.Errorf("LoadTLS%v accepted", files)
		}
	}
	if cfg, err := LoadTLS("", "", ""); err != nil || cfg.RootCAs != nil || len(cfg.Certificates) != 0 {
		t.Errorf("LoadTLS with no files: %+v, %v; want the system's roots and no certificate", cfg, err)
	}
}
