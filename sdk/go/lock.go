package larder

import (
	"context"
	"fmt"
	"time"

	larderv1 "github.com/larder/larder/sdk/go/gen/larder/v1"
	"google.golang.org/grpc/codes"
)

// The compute lock of GetOrSet, shared with the other SDKs so that callers in
// every language wait for each other. Its TTL bounds how long a crashed
// computer blocks the others.
const (
	computeLockPrefix = "larder:compute:"
	computeLockTTL    = 5 * time.Second
	computeLockWait   = 10 * time.Second
)

// LockOption configures Lock.
type LockOption func(*larderv1.LockRequest)

// WithLockTTL sets how long the lock lasts unless extended (default: the
// server's lock duration, 30 s unless configured).
func WithLockTTL(d time.Duration) LockOption {
	return func(r *larderv1.LockRequest) { r.TtlMs = int64((d + time.Millisecond - 1) / time.Millisecond) }
}

// WithWait makes Lock wait up to d for a busy lock (default: try once).
func WithWait(d time.Duration) LockOption {
	return func(r *larderv1.LockRequest) { r.WaitMs = int64((d + time.Millisecond - 1) / time.Millisecond) }
}

// WithOwner sets the holder label others see (default "<hostname>:<pid>").
func WithOwner(owner string) LockOption { return func(r *larderv1.LockRequest) { r.Owner = owner } }

// LockHolder describes who holds a lock.
type LockHolder struct {
	// Owner is the holder's label.
	Owner string
	// ExpiresAt is when the holder's grant expires unless extended.
	ExpiresAt time.Time
	// FencingToken is the holder grant's fencing token.
	FencingToken int64
}

// LockHandle is a held lock. Release it with Unlock, typically deferred.
type LockHandle struct {
	c *Client
	// Name is the lock's name.
	Name string
	// Token is the secret owner token; pass the handle to Set with WithLock
	// for a write that applies only while the lock is held.
	Token string
	// FencingToken rises with every grant of the name and never repeats;
	// hand it to other storage so that it can refuse older holders.
	FencingToken int64
	// ExpiresAt is when the grant expires unless extended.
	ExpiresAt time.Time
}

// Lock acquires a named lock. When it stays busy for the whole wait, the
// error is an *Error with code Aborted and the Holder set (see
// IsLockNotAcquired). Not retried: a grant whose answer was lost would stay
// held until its TTL.
func (c *Client) Lock(ctx context.Context, name string, opts ...LockOption) (*LockHandle, error) {
	req := &larderv1.LockRequest{Name: name, Owner: c.owner}
	for _, o := range opts {
		o(req)
	}
	if req.TtlMs < 0 || req.WaitMs < 0 {
		return nil, invalidArgument("ttl", "lock TTL and wait must not be negative")
	}
	wait := time.Duration(req.WaitMs) * time.Millisecond
	res, err := invoke(ctx, c, false, wait, func(ctx context.Context) (*larderv1.LockResponse, error) {
		return c.rpc.Lock(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	if !res.GetAcquired() {
		var holder *LockHolder
		if h := res.GetHolder(); h != nil {
			holder = &LockHolder{Owner: h.GetOwner(), ExpiresAt: h.GetExpiresAt().AsTime(), FencingToken: h.GetFencingToken()}
		}
		return nil, &Error{Code: codes.Aborted, Holder: holder,
			Message: fmt.Sprintf("lock: %q was not acquired within the wait", name)}
	}
	return &LockHandle{c: c, Name: name, Token: res.GetToken(), FencingToken: res.GetFencingToken(),
		ExpiresAt: res.GetExpiresAt().AsTime()}, nil
}

// IsLockNotAcquired reports whether err is Lock's answer for a lock that
// stayed busy.
func IsLockNotAcquired(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Code == codes.Aborted && e.Holder != nil
}

// Unlock releases the lock and reports whether this call freed it (false
// when it had expired, was taken over, or was released before).
func (h *LockHandle) Unlock(ctx context.Context) (bool, error) {
	// Safe to retry: a repeat after a lost answer finds NOT_HELD.
	res, err := invoke(ctx, h.c, true, 0, func(ctx context.Context) (*larderv1.UnlockResponse, error) {
		return h.c.rpc.Unlock(ctx, &larderv1.UnlockRequest{Name: h.Name, Token: h.Token})
	})
	return res.GetStatus() == larderv1.UnlockStatus_UNLOCK_STATUS_RELEASED, err
}

// Extend sets the expiry to ttl from now (0: the server's lock duration);
// FailedPrecondition when the lock is no longer held by this handle.
func (h *LockHandle) Extend(ctx context.Context, ttl time.Duration) (time.Time, error) {
	req := &larderv1.ExtendLockRequest{Name: h.Name, Token: h.Token, TtlMs: int64((ttl + time.Millisecond - 1) / time.Millisecond)}
	res, err := invoke(ctx, h.c, true, 0, func(ctx context.Context) (*larderv1.ExtendLockResponse, error) {
		return h.c.rpc.ExtendLock(ctx, req)
	})
	if err != nil {
		return h.ExpiresAt, err
	}
	if res.GetStatus() != larderv1.ExtendLockStatus_EXTEND_LOCK_STATUS_EXTENDED {
		return h.ExpiresAt, &Error{Code: codes.FailedPrecondition, Message: fmt.Sprintf("extend: lock %q is no longer held", h.Name)}
	}
	h.ExpiresAt = res.GetExpiresAt().AsTime()
	return h.ExpiresAt, nil
}
