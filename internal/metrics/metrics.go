// Package metrics exposes the plugin's Prometheus metrics and health check.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Counts reports how many networks and endpoints the driver holds.
type Counts func() (networks, endpoints int)

// Metrics holds the plugin's collectors in a registry of its own.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	reconcile *prometheus.CounterVec
}

// New registers the collectors; counts is sampled at every scrape.
func New(counts Counts) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "docker_vxlan_plugin_requests_total",
			Help: "Protocol requests from Docker, by method and result (ok or error).",
		}, []string{"method", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "docker_vxlan_plugin_request_duration_seconds",
			Help:    "Time to answer a protocol request, by method.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9), // 100µs .. 6.5s
		}, []string{"method"}),
		reconcile: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "docker_vxlan_plugin_reconcile_actions_total",
			Help: "Changes made to the kernel when reconciling it with the store, by action.",
		}, []string{"action"}),
	}
	gauge := func(name, help string, pick func(n, e int) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			return float64(pick(counts()))
		})
	}
	m.reg.MustRegister(m.requests, m.latency, m.reconcile,
		gauge("docker_vxlan_plugin_networks", "Networks the plugin holds.", func(n, _ int) int { return n }),
		gauge("docker_vxlan_plugin_endpoints", "Endpoints the plugin holds.", func(_, e int) int { return e }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// ObserveRequest records one protocol request.
func (m *Metrics) ObserveRequest(method string, ok bool, took time.Duration) {
	result := "ok"
	if !ok {
		result = "error"
	}
	m.requests.WithLabelValues(method, result).Inc()
	m.latency.WithLabelValues(method).Observe(took.Seconds())
}

// AddReconcile records reconcile actions ("ensured", "removed", "failed").
func (m *Metrics) AddReconcile(action string, n int) {
	m.reconcile.WithLabelValues(action).Add(float64(n))
}

// Handler serves /metrics and /healthz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
