package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/ipam"
)

// Driver is the network driver the protocol serves; *driver.Driver
// implements it.
type Driver interface {
	Capabilities() driver.Capabilities
	GwAllocCheck(options map[string]string) (skipIPv4, skipIPv6 bool, err error)
	CreateNetwork(context.Context, driver.CreateNetworkRequest) error
	DeleteNetwork(ctx context.Context, networkID string) error
	AllocateNetwork(driver.CreateNetworkRequest) (map[string]string, error)
	FreeNetwork(networkID string) error
	CreateEndpoint(context.Context, driver.CreateEndpointRequest) (driver.CreateEndpointResponse, error)
	DeleteEndpoint(ctx context.Context, networkID, endpointID string) error
	EndpointInfo(ctx context.Context, networkID, endpointID string) (map[string]any, error)
	Join(ctx context.Context, networkID, endpointID string, sb ...driver.Sandbox) (driver.JoinResponse, error)
	Leave(networkID, endpointID string) error
	DiscoverNew(context.Context, driver.NodeDiscovery) error
	DiscoverDelete(context.Context, driver.NodeDiscovery) error
	ProgramExternalConnectivity(networkID, endpointID string) error
	RevokeExternalConnectivity(networkID, endpointID string) error
}

// Limits bounds what one request may cost.
type Limits struct {
	MaxBody int64         // bytes; larger bodies are refused
	Timeout time.Duration // per request; answered with an error when exceeded
}

// DefaultLimits fit every real request (a few KiB) and answer well within
// dockerd's own plugin call timeout.
func DefaultLimits() Limits { return Limits{MaxBody: 1 << 20, Timeout: 25 * time.Second} }

// Observer is told of every request; metrics plug in here. It may be nil.
type Observer func(method string, ok bool, took time.Duration)

// NewHandler serves the protocol for d and, if alloc is not nil, the IPAM
// protocol for alloc on the same socket.
func NewHandler(d Driver, alloc IPAM, log *slog.Logger, lim Limits, observe Observer) http.Handler {
	mux := http.NewServeMux()
	s := &server{d: d, ipam: alloc, log: log, observe: observe}
	for method, call := range s.methods() {
		h := s.wrap(method, call)
		h = withDeadline(h, lim.Timeout, mustJSON(errorResponse{Err: method + ": timed out"}))
		mux.Handle("POST /"+method, limitBody(h, lim.MaxBody))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorResponse{Err: fmt.Sprintf("unknown method %s %s", r.Method, r.URL.Path)})
	})
	return mux
}

type server struct {
	d       Driver
	ipam    IPAM // nil: no IPAM driver
	log     *slog.Logger
	observe Observer
}

// call handles one method: it decodes body and returns the response value.
// ctx ends when the request times out or the client goes away.
type call func(ctx context.Context, body []byte) (any, error)

// badRequest marks errors in the request itself (HTTP 400).
type badRequest struct{ err error }

func (e badRequest) Error() string { return e.err.Error() }
func (e badRequest) Unwrap() error { return e.err }

// wrap turns a call into an http.Handler that reads the body, recovers from
// panics and writes the JSON result or {"Err": ...}.
func (s *server) wrap(method string, c call) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		resp, err := s.run(method, c, r)
		status := http.StatusOK
		if err != nil {
			status = statusOf(err)
			resp = errorResponse{Err: err.Error()}
			s.log.Warn("request failed", "method", method, "status", status, "err", err)
		} else {
			s.log.Debug("request", "method", method, "took", time.Since(start))
		}
		if s.observe != nil {
			s.observe(method, err == nil, time.Since(start))
		}
		writeJSON(w, status, resp)
	})
}

func (s *server) run(method string, c call, r *http.Request) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("handler panic", "method", method, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("%s: internal error: %v", method, p)
		}
	}()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, badRequest{fmt.Errorf("read request: %w", err)}
	}
	return c(r.Context(), body)
}

func statusOf(err error) int {
	var br badRequest
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &br):
		return http.StatusBadRequest
	case errors.Is(err, driver.ErrNotFound), errors.Is(err, ipam.ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// decode reads a JSON body into v; an empty body leaves v zero.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest{fmt.Errorf("malformed request body: %w", err)}
	}
	return nil
}

func limitBody(h http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, max)
		// Set before the handler runs so that TimeoutHandler's own error
		// response carries it too.
		w.Header().Set("Content-Type", ContentType)
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on fixed values at start-up
	}
	return string(b)
}
