package protocol

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/request"
)

// withDeadline answers a request that runs longer than d with a timeout
// error, like http.TimeoutHandler, but decides between the timeout and the
// real result once, through the request's gate: a driver that commits its
// result first gets its answer through however late it ends, and one that
// tries to commit after the timeout answer is refused (request.Commit).
func withDeadline(h http.Handler, d time.Duration, timeoutBody string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		ctx, gate := request.WithGate(ctx)
		buf := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(buf, r.WithContext(ctx))
		}()
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-done:
		case <-timer.C:
			if gate.Expire() {
				cancel()
				w.Header().Set("Content-Type", ContentType)
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(timeoutBody))
				return
			}
			<-done // committed: the real answer follows
		}
		buf.copyTo(w)
	})
}

// bufferedResponse holds a handler's response until it is known to be the
// one sent.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }

func (b *bufferedResponse) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}
