package larder

import (
	"context"
	"fmt"
	"sync"
	"time"

	larderv1 "github.com/larder/larder/sdk/go/gen/larder/v1"
	"google.golang.org/grpc/codes"
)

// LockOption configures Lock and TryLock.
type LockOption func(*lockConfig)

type lockConfig struct {
	req       *larderv1.LockRequest
	autoRenew bool
}

func roundUpMs(d time.Duration) int64 { return int64((d + time.Millisecond - 1) / time.Millisecond) }

// WithLockTTL sets how long the lock lasts unless extended (default: the
// server's lock duration, 30 s unless configured).
func WithLockTTL(d time.Duration) LockOption {
	return func(c *lockConfig) { c.req.TtlMs = roundUpMs(d) }
}

// WithWait makes Lock wait up to d for a busy lock (default: try once).
func WithWait(d time.Duration) LockOption {
	return func(c *lockConfig) { c.req.WaitMs = roundUpMs(d) }
}

// WithOwner sets the holder label others see (default "<hostname>:<pid>").
func WithOwner(owner string) LockOption { return func(c *lockConfig) { c.req.Owner = owner } }

// WithAutoRenew extends the lock every third of its TTL until Unlock, so
// that a long critical section keeps it while a crashed process loses it
// within one TTL. If a renewal finds the lock lost, the handle's Lost
// channel is closed.
func WithAutoRenew() LockOption { return func(c *lockConfig) { c.autoRenew = true } }

// LockHolder describes who holds a lock.
type LockHolder struct {
	// Owner is the holder's label.
	Owner string
	// ExpiresAt is when the holder's grant expires unless extended.
	ExpiresAt time.Time
	// FencingToken is the holder grant's fencing token.
	FencingToken int64
}

// LockInfo is one live lock, as ListLocks lists it.
type LockInfo struct {
	// Name is the lock's name.
	Name string
	LockHolder
}

func holderOf(h *larderv1.LockHolder) *LockHolder {
	if h == nil {
		return nil
	}
	return &LockHolder{Owner: h.GetOwner(), ExpiresAt: h.GetExpiresAt().AsTime(), FencingToken: h.GetFencingToken()}
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
	// ExpiresAt is when the grant expires unless extended; Extend moves it.
	// Auto-renewal runs in its own goroutine and does not write it, so that
	// reading it is never a data race; Expiry includes the renewals.
	ExpiresAt time.Time

	ttlMs    int64
	mu       sync.Mutex
	expiry   time.Time
	stopOnce sync.Once
	stop     chan struct{}
	lostOnce sync.Once
	lost     chan struct{}
}

// Lock acquires a named lock. When it stays busy for the whole wait, the
// error is an *Error with code Aborted and the Holder set (see
// IsLockNotAcquired). Not retried: a grant whose answer was lost would stay
// held until its TTL.
func (c *Client) Lock(ctx context.Context, name string, opts ...LockOption) (*LockHandle, error) {
	h, holder, err := c.acquire(ctx, name, opts)
	if err == nil && h == nil {
		err = &Error{Code: codes.Aborted, Holder: holder, Message: fmt.Sprintf("lock: %q was not acquired within the wait", name)}
	}
	return h, err
}

// TryLock is Lock that returns a nil handle and a nil error when the lock
// stays busy (by default it tries once, without waiting).
func (c *Client) TryLock(ctx context.Context, name string, opts ...LockOption) (*LockHandle, error) {
	h, _, err := c.acquire(ctx, name, opts)
	return h, err
}

// acquire returns the handle, or (nil, holder) when the lock stayed busy.
func (c *Client) acquire(ctx context.Context, name string, opts []LockOption) (*LockHandle, *LockHolder, error) {
	cfg := lockConfig{req: &larderv1.LockRequest{Name: name, Owner: c.owner}}
	for _, o := range opts {
		o(&cfg)
	}
	req := cfg.req
	if req.TtlMs < 0 || req.WaitMs < 0 {
		return nil, nil, invalidArgument("ttl", "lock TTL and wait must not be negative")
	}
	wait := time.Duration(req.WaitMs) * time.Millisecond
	res, err := invoke(ctx, c, false, wait, func(ctx context.Context) (*larderv1.LockResponse, error) {
		return c.rpc.Lock(ctx, req)
	})
	if err != nil {
		return nil, nil, err
	}
	if !res.GetAcquired() {
		return nil, holderOf(res.GetHolder()), nil
	}
	h := &LockHandle{c: c, Name: name, Token: res.GetToken(), FencingToken: res.GetFencingToken(),
		ExpiresAt: res.GetExpiresAt().AsTime(), ttlMs: req.TtlMs, stop: make(chan struct{}), lost: make(chan struct{})}
	h.expiry = h.ExpiresAt
	if cfg.autoRenew {
		go h.renew()
	}
	return h, nil, nil
}

// IsLockNotAcquired reports whether err is Lock's answer for a lock that
// stayed busy.
func IsLockNotAcquired(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Code == codes.Aborted && e.Holder != nil
}

// CheckLock reports whether a lock is free now, or becomes free within wait
// (answered as soon as it frees). It takes nothing.
func (c *Client) CheckLock(ctx context.Context, name string, wait time.Duration) (bool, error) {
	if wait < 0 {
		return false, invalidArgument("wait", fmt.Sprintf("must not be negative, got %s", wait))
	}
	req := &larderv1.CheckLockRequest{Name: name, WaitMs: roundUpMs(wait)}
	res, err := invoke(ctx, c, true, wait, func(ctx context.Context) (*larderv1.CheckLockResponse, error) {
		return c.rpc.CheckLock(ctx, req)
	})
	return res.GetAvailable(), err
}

// ListLocks lists the live locks whose names match a glob ("" means all),
// with holder and expiry, following all pages.
func (c *Client) ListLocks(ctx context.Context, pattern string) ([]LockInfo, error) {
	index := map[string]int{}
	locks := []LockInfo{}
	cursor := ""
	for {
		req := &larderv1.ListLocksRequest{Pattern: pattern, Cursor: cursor, Limit: batch}
		res, err := invoke(ctx, c, true, 0, func(ctx context.Context) (*larderv1.ListLocksResponse, error) {
			return c.rpc.ListLocks(ctx, req)
		})
		if err != nil {
			return nil, err
		}
		for _, l := range res.GetLocks() {
			holder := holderOf(l.GetHolder())
			if holder == nil {
				continue
			}
			// A lock renewed between two pages may be listed twice: keep the later.
			info := LockInfo{Name: l.GetName(), LockHolder: *holder}
			if i, seen := index[info.Name]; seen {
				locks[i] = info
			} else {
				index[info.Name] = len(locks)
				locks = append(locks, info)
			}
		}
		if cursor = res.GetNextCursor(); cursor == "" {
			return locks, nil
		}
	}
}

// Unlock releases the lock, stops any renewal, and reports whether this call
// freed it (false when it had expired, was taken over, or was released before).
func (h *LockHandle) Unlock(ctx context.Context) (bool, error) {
	h.stopOnce.Do(func() { close(h.stop) })
	// Safe to retry: a repeat after a lost answer finds NOT_HELD.
	res, err := invoke(ctx, h.c, true, 0, func(ctx context.Context) (*larderv1.UnlockResponse, error) {
		return h.c.rpc.Unlock(ctx, &larderv1.UnlockRequest{Name: h.Name, Token: h.Token})
	})
	return res.GetStatus() == larderv1.UnlockStatus_UNLOCK_STATUS_RELEASED, err
}

// Extend sets the expiry to ttl from now (0: the TTL the lock was taken
// with, else the server's lock duration); FailedPrecondition when the lock
// is no longer held by this handle.
func (h *LockHandle) Extend(ctx context.Context, ttl time.Duration) (time.Time, error) {
	at, err := h.extend(ctx, ttl)
	if err == nil {
		h.ExpiresAt = at
	}
	return h.ExpiresAt, err
}

func (h *LockHandle) extend(ctx context.Context, ttl time.Duration) (time.Time, error) {
	ttlMs := h.ttlMs
	if ttl != 0 {
		if ttl < 0 {
			return time.Time{}, invalidArgument("ttl", fmt.Sprintf("must be positive, got %s", ttl))
		}
		ttlMs = roundUpMs(ttl)
	}
	req := &larderv1.ExtendLockRequest{Name: h.Name, Token: h.Token, TtlMs: ttlMs}
	res, err := invoke(ctx, h.c, true, 0, func(ctx context.Context) (*larderv1.ExtendLockResponse, error) {
		return h.c.rpc.ExtendLock(ctx, req)
	})
	if err != nil {
		return time.Time{}, err
	}
	if st := res.GetStatus(); st != larderv1.ExtendLockStatus_EXTEND_LOCK_STATUS_EXTENDED {
		select {
		case <-h.stop: // after Unlock, "not held" is the expected state, not a loss
		default:
			h.lostOnce.Do(func() { close(h.lost) })
		}
		why := "it expired"
		if st == larderv1.ExtendLockStatus_EXTEND_LOCK_STATUS_HELD_BY_OTHER {
			why = "another holder has it"
		}
		return time.Time{}, &Error{Code: codes.FailedPrecondition,
			Message: fmt.Sprintf("extend: lock %q is no longer held by this handle: %s", h.Name, why)}
	}
	at := res.GetExpiresAt().AsTime()
	h.mu.Lock()
	h.expiry = at
	h.mu.Unlock()
	return at, nil
}

// Expiry is when the grant expires as last known, renewals included.
func (h *LockHandle) Expiry() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.expiry
}

// Lost is closed when a renewal or Extend finds that the lock expired or
// went to another holder, so that work under the lock can stop.
func (h *LockHandle) Lost() <-chan struct{} { return h.lost }

func (h *LockHandle) renew() {
	// Every third of the TTL leaves two more tries before expiry if one
	// fails. Without an explicit TTL the grant's own length stands in.
	ttl := time.Duration(h.ttlMs) * time.Millisecond
	if ttl <= 0 {
		if ttl = time.Until(h.Expiry()); ttl < time.Second {
			ttl = time.Second
		}
	}
	ticker := time.NewTicker(ttl / 3)
	defer ticker.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-h.lost:
			return
		case <-ticker.C:
			// A transient failure tries again at the next tick; a lost lock
			// closes h.lost, which ends the loop.
			ctx, cancel := context.WithTimeout(context.Background(), ttl)
			_, _ = h.extend(ctx, 0)
			cancel()
		}
	}
}
