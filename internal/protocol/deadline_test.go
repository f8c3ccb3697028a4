package protocol

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/request"
)

const deadline = 50 * time.Millisecond

// A result committed before the deadline is answered, however late the
// handler ends: Docker must learn of what the driver recorded.
func TestCommittedResultOutlivesTheDeadline(t *testing.T) {
	h := withDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := request.Commit(r.Context()); err != nil {
			t.Errorf("Commit before the deadline: %v", err)
		}
		time.Sleep(3 * deadline)
		writeJSON(w, http.StatusOK, map[string]string{"result": "real"})
	}), deadline, `{"Err":"timed out"}`)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "real") {
		t.Fatalf("got %d %s, want the committed result", rec.Code, rec.Body)
	}
}

// A handler that gets to its commit after the timeout answer is refused:
// nothing may be recorded that Docker was told failed.
func TestLateCommitRefused(t *testing.T) {
	refused := make(chan error, 1)
	h := withDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * deadline)
		refused <- request.Commit(r.Context())
	}), deadline, `{"Err":"timed out"}`)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "timed out") {
		t.Fatalf("got %d %s, want the timeout answer", rec.Code, rec.Body)
	}
	if err := <-refused; !errors.Is(err, request.ErrTimedOut) {
		t.Fatalf("late Commit = %v, want ErrTimedOut", err)
	}
}
