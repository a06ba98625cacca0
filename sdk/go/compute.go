package larder

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"reflect"
	"time"

	larderv1 "github.com/larder/larder/sdk/go/gen/larder/v1"
	"google.golang.org/grpc/codes"
)

// The compute lock of GetOrSet, shared with the other SDKs so that callers in
// every language wait for each other. Its TTL bounds how long a crashed
// computer blocks the others; it is renewed while fn runs.
const (
	computeLockPrefix = "larder:compute:"
	computeLockTTL    = 5 * time.Second
	computeLockWait   = 10 * time.Second
	// Longer keys are hashed into the lock name, which must stay within the
	// server's key size limit (the TypeScript SDK's rule).
	maxLiteralLockKeyBytes = 200
	// The longest single CheckLock wait, well under the server's maximum (60 s).
	maxCheckWait = 30 * time.Second
)

// WithComputeLockTTL sets the TTL of GetOrSet's compute lock (default 5 s):
// how soon another caller takes over from one that died while computing.
// The lock is renewed every third of it while fn runs.
func WithComputeLockTTL(d time.Duration) Option { return func(c *config) { c.computeLockTTL = d } }

// computeLockName is the lock that serializes computations of key across
// processes and SDKs.
func computeLockName(key string) string {
	if len(key) <= maxLiteralLockKeyBytes {
		return computeLockPrefix + key
	}
	sum := sha256.Sum256([]byte(key))
	return computeLockPrefix + "sha256:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// GetOrSet reads key into out; on a miss it calls fn, stores its result
// with opts (e.g. WithTTL) and decodes it into out as a later Get would.
//
// Concurrent calls for one key in this process share one read and one fn
// call. Across processes (and with the other SDKs), the lock
// "larder:compute:<key>" lets one caller compute while the others wait for
// its release (up to 10 s) and read its result. The lock lasts
// WithComputeLockTTL (5 s) and is renewed while fn runs, so a slow fn is not
// run a second time by a waiter.
func (c *Client) GetOrSet(ctx context.Context, key string, out any, fn func(context.Context) (any, error),
	opts ...SetOption) error {
	if out != nil && reflect.ValueOf(out).Kind() != reflect.Pointer {
		return invalidArgument("out", fmt.Sprintf("must be a pointer, got %T", out))
	}
	value, err := c.flights.do(key, func() (*larderv1.Value, error) { return c.compute(ctx, key, fn, opts) })
	if err != nil {
		return err
	}
	return decodeValue(value, out)
}

func (c *Client) compute(ctx context.Context, key string, fn func(context.Context) (any, error),
	opts []SetOption) (*larderv1.Value, error) {
	res, err := c.read(ctx, key)
	if err != nil || res.GetFound() {
		return res.GetValue(), err
	}
	name := computeLockName(key)
	deadline := time.Now().Add(computeLockWait)
	for {
		guard, holder, err := c.acquire(ctx, name, []LockOption{WithLockTTL(c.cfg.computeLockTTL), WithAutoRenew()})
		if code := ErrorCode(err); code == codes.PermissionDenied || code == codes.Unimplemented {
			// A key without the lock permission (or a server without locks)
			// still gets its value, only without the cross-process guarantee.
			return c.computeAndStore(ctx, key, fn, opts)
		}
		if err != nil {
			return nil, err
		}
		if guard != nil {
			return c.computeUnder(ctx, guard, key, fn, opts)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, &Error{Code: codes.Aborted, Holder: holder, Message: fmt.Sprintf(
				"get or set: waited %s for another caller computing %q", computeLockWait, key)}
		}
		if left > maxCheckWait {
			left = maxCheckWait
		}
		// Woken by the computer's release; then its value is there to read.
		if _, err := c.CheckLock(ctx, name, left); err != nil {
			return nil, err
		}
		if res, err = c.read(ctx, key); err != nil || res.GetFound() {
			return res.GetValue(), err
		}
	}
}

// computeUnder reads again under the compute lock (another caller may have
// just stored the value) and computes only if still missing.
func (c *Client) computeUnder(ctx context.Context, guard *LockHandle, key string, fn func(context.Context) (any, error),
	opts []SetOption) (*larderv1.Value, error) {
	// Released with a context of its own: the caller's may be done, and an
	// unreachable server leaves the lock to its TTL anyway.
	defer func() { _, _ = guard.Unlock(context.Background()) }()
	res, err := c.read(ctx, key)
	if err != nil || res.GetFound() {
		return res.GetValue(), err
	}
	return c.computeAndStore(ctx, key, fn, opts)
}

func (c *Client) computeAndStore(ctx context.Context, key string, fn func(context.Context) (any, error),
	opts []SetOption) (*larderv1.Value, error) {
	v, err := fn(ctx)
	if err != nil {
		return nil, err
	}
	encoded, err := encodeValue(v)
	if err != nil {
		return nil, err
	}
	if _, err := c.Set(ctx, key, v, opts...); err != nil {
		return nil, err
	}
	// What a later hit returns, so that hit and miss paths decode alike.
	return encoded, nil
}
