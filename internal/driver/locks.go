package driver

import (
	"context"
	"fmt"
	"sync"
)

// keyedLocks is one lock per key (a network's ID), made when first wanted
// and dropped once nobody holds or waits for it: a request waits only for
// the requests on its own network, so one stuck on a slow kernel call
// stalls no other network.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sem  chan struct{} // a channel, so waiting for it can be cancelled
	refs int           // holders and waiters
}

func newKeyedLocks() *keyedLocks { return &keyedLocks{locks: map[string]*keyedLock{}} }

// lock takes the lock of key unless ctx ends first: a request Docker has
// given up on must not go on to create links nobody would delete.
func (l *keyedLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	kl := l.ref(key)
	select {
	case kl.sem <- struct{}{}:
	case <-ctx.Done():
		l.unref(key, kl)
		return nil, fmt.Errorf("gave up waiting for earlier requests: %w", ctx.Err())
	}
	unlock = func() {
		<-kl.sem
		l.unref(key, kl)
	}
	if err := ctx.Err(); err != nil {
		unlock()
		return nil, fmt.Errorf("request abandoned: %w", err)
	}
	return unlock, nil
}

func (l *keyedLocks) ref(key string) *keyedLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	kl := l.locks[key]
	if kl == nil {
		kl = &keyedLock{sem: make(chan struct{}, 1)}
		l.locks[key] = kl
	}
	kl.refs++
	return kl
}

func (l *keyedLocks) unref(key string, kl *keyedLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if kl.refs--; kl.refs == 0 {
		delete(l.locks, key)
	}
}
