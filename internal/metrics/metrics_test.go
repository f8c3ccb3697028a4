package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body)
}

func TestMetricsAndHealth(t *testing.T) {
	m := New(func() (int, int) { return 3, 7 })
	m.ObserveRequest("NetworkDriver.Join", true, 2*time.Millisecond)
	m.ObserveRequest("NetworkDriver.Join", false, time.Millisecond)
	m.AddReconcile("removed", 2)

	if code, body := scrape(t, m, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	code, body := scrape(t, m, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`docker_vxlan_plugin_requests_total{method="NetworkDriver.Join",result="ok"} 1`,
		`docker_vxlan_plugin_requests_total{method="NetworkDriver.Join",result="error"} 1`,
		`docker_vxlan_plugin_request_duration_seconds_count{method="NetworkDriver.Join"} 2`,
		`docker_vxlan_plugin_networks 3`,
		`docker_vxlan_plugin_endpoints 7`,
		`docker_vxlan_plugin_reconcile_actions_total{action="removed"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
