package request

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestTimeoutFirstRefusesCommit(t *testing.T) {
	ctx, g := WithGate(context.Background())
	if !g.Expire() {
		t.Fatal("Expire on an open gate did not win")
	}
	if err := Commit(ctx); !errors.Is(err, ErrTimedOut) {
		t.Fatalf("Commit after the timeout = %v, want ErrTimedOut", err)
	}
}

func TestCommitFirstBeatsTimeout(t *testing.T) {
	ctx, g := WithGate(context.Background())
	if err := Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if g.Expire() {
		t.Fatal("Expire after a commit won: the real answer would be replaced by a timeout")
	}
	if err := Commit(ctx); err != nil {
		t.Fatalf("a second commit of the same request = %v", err)
	}
}

func TestAbandonedRequestCannotCommit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ctx, g := WithGate(ctx)
	cancel()
	if err := Commit(ctx); err == nil {
		t.Fatal("Commit of an abandoned request succeeded")
	}
	if !g.Expire() {
		t.Fatal("an abandoned request's gate is not expired")
	}
	plain, cancelPlain := context.WithCancel(context.Background())
	if err := Commit(plain); err != nil { // no gate: only the context counts
		t.Fatal(err)
	}
	cancelPlain()
	if err := Commit(plain); err == nil {
		t.Fatal("Commit without a gate ignored a cancelled context")
	}
}

// Exactly one side wins, however the two race.
func TestExactlyOneWins(t *testing.T) {
	for range 1000 {
		ctx, g := WithGate(context.Background())
		var commitErr error
		var expired bool
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); commitErr = Commit(ctx) }()
		go func() { defer wg.Done(); expired = g.Expire() }()
		wg.Wait()
		if (commitErr == nil) == expired {
			t.Fatalf("commit err %v, expired %v: want exactly one winner", commitErr, expired)
		}
	}
}
