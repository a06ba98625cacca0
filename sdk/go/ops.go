package larder

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	larderv1 "github.com/larder/larder/sdk/go/gen/larder/v1"
	"google.golang.org/grpc/codes"
)

// batch is the server's default limit of keys per GetMany, SetMany or
// Delete, and of a Keys page.
const batch = 1000

// SetOption configures Set, GetOrSet and Increment.
type SetOption func(*setConfig)

type setConfig struct {
	ttl      time.Duration
	noExpiry bool
	mode     larderv1.SetMode
	version  int64
	lock     *LockHandle
}

// WithTTL sets the time to live (millisecond precision); without it the
// namespace default applies (3600 s unless configured).
func WithTTL(d time.Duration) SetOption { return func(s *setConfig) { s.ttl = d } }

// NoExpiry keeps the entry until deleted; a namespace policy may forbid it.
func NoExpiry() SetOption { return func(s *setConfig) { s.noExpiry = true } }

// OnlyIfAbsent makes Set write only if the key does not exist.
func OnlyIfAbsent() SetOption {
	return func(s *setConfig) { s.mode = larderv1.SetMode_SET_MODE_IF_ABSENT }
}

// OnlyIfPresent makes Set write only if the key exists.
func OnlyIfPresent() SetOption {
	return func(s *setConfig) { s.mode = larderv1.SetMode_SET_MODE_IF_PRESENT }
}

// IfVersion makes Set write only if the key exists with this version
// (compare-and-set).
func IfVersion(v int64) SetOption {
	return func(s *setConfig) { s.mode, s.version = larderv1.SetMode_SET_MODE_IF_VERSION, v }
}

// WithLock makes Set apply only while the lock is held by this handle
// (fencing): a holder whose lock expired and went to another gets false.
func WithLock(h *LockHandle) SetOption { return func(s *setConfig) { s.lock = h } }

func msOf(field string, d time.Duration) (int64, error) {
	if d <= 0 {
		return 0, invalidArgument(field, fmt.Sprintf("must be positive, got %s", d))
	}
	// Round up: a positive duration under 1 ms must not become 0, which the
	// server would refuse.
	return int64((d + time.Millisecond - 1) / time.Millisecond), nil
}

func encodeValue(v any) (*larderv1.Value, error) {
	if b, ok := v.([]byte); ok {
		return &larderv1.Value{Kind: &larderv1.Value_Binary{Binary: b}}, nil
	}
	text, err := json.Marshal(v)
	if err != nil {
		return nil, invalidArgument("value", "cannot be serialized as JSON: "+err.Error())
	}
	return &larderv1.Value{Kind: &larderv1.Value_Json{Json: string(text)}}, nil
}

// decodeValue stores a wire value into out: JSON through encoding/json,
// binary into a *[]byte or an *any. A nil out only checks the value.
func decodeValue(v *larderv1.Value, out any) error {
	switch k := v.GetKind().(type) {
	case *larderv1.Value_Json:
		if out == nil {
			return nil
		}
		if err := json.Unmarshal([]byte(k.Json), out); err != nil {
			return &Error{Code: codes.InvalidArgument, Message: "out: cannot hold the stored JSON: " + err.Error()}
		}
		return nil
	case *larderv1.Value_Binary:
		switch o := out.(type) {
		case nil:
			return nil
		case *[]byte:
			*o = append([]byte(nil), k.Binary...)
			return nil
		case *any:
			*o = append([]byte(nil), k.Binary...)
			return nil
		}
		return &Error{Code: codes.InvalidArgument, Message: fmt.Sprintf("out: a binary value needs a *[]byte, got %T", out)}
	}
	return &Error{Code: codes.Internal, Message: "value: the server returned an entry without a value"}
}

// Set writes value (JSON, or binary for a []byte) and reports whether it was
// applied, which is always true without a condition. Only unconditional
// writes are retried: a retried conditional one could report "not applied"
// for a write that happened.
func (c *Client) Set(ctx context.Context, key string, value any, opts ...SetOption) (bool, error) {
	var s setConfig
	for _, o := range opts {
		o(&s)
	}
	req := &larderv1.SetRequest{Key: key, Mode: s.mode, IfVersion: s.version}
	var err error
	if req.Value, err = encodeValue(value); err != nil {
		return false, err
	}
	switch {
	case s.noExpiry && s.ttl != 0:
		return false, invalidArgument("ttl", "give either WithTTL or NoExpiry, not both")
	case s.noExpiry:
		req.Expiry = &larderv1.SetRequest_NoExpiry{NoExpiry: true}
	case s.ttl != 0:
		ms, err := msOf("ttl", s.ttl)
		if err != nil {
			return false, err
		}
		req.Expiry = &larderv1.SetRequest_TtlMs{TtlMs: ms}
	}
	if s.lock != nil {
		req.LockGuard = &larderv1.LockGuard{Name: s.lock.Name, Token: s.lock.Token}
	}
	idempotent := s.mode == larderv1.SetMode_SET_MODE_UNSPECIFIED && s.lock == nil
	res, err := invoke(ctx, c, idempotent, 0, func(ctx context.Context) (*larderv1.SetResponse, error) {
		return c.rpc.Set(ctx, req)
	})
	return res.GetApplied(), err
}

func (c *Client) read(ctx context.Context, key string) (*larderv1.GetResponse, error) {
	return invoke(ctx, c, true, 0, func(ctx context.Context) (*larderv1.GetResponse, error) {
		return c.rpc.Get(ctx, &larderv1.GetRequest{Key: key})
	})
}

// Get reads key into out (a pointer, as for json.Unmarshal) and reports
// whether it was found; a miss leaves out alone and is not an error.
func (c *Client) Get(ctx context.Context, key string, out any) (bool, error) {
	res, err := c.read(ctx, key)
	if err != nil || !res.GetFound() {
		return false, err
	}
	return true, decodeValue(res.GetValue(), out)
}

// Has reports whether key exists, without transferring its value.
func (c *Client) Has(ctx context.Context, key string) (bool, error) {
	res, err := invoke(ctx, c, true, 0, func(ctx context.Context) (*larderv1.HasResponse, error) {
		return c.rpc.Has(ctx, &larderv1.HasRequest{Key: key})
	})
	return res.GetFound(), err
}

// Delete removes one or more keys and reports whether any of them existed.
func (c *Client) Delete(ctx context.Context, keys ...string) (bool, error) {
	deleted, err := c.DeleteMany(ctx, keys)
	return deleted > 0, err
}

// Extend adds d to the remaining TTL of key and reports whether it existed.
// Not retried: a repeat would add the time twice.
func (c *Client) Extend(ctx context.Context, key string, d time.Duration) (bool, error) {
	ms, err := msOf("seconds", d)
	if err != nil {
		return false, err
	}
	res, err := invoke(ctx, c, false, 0, func(ctx context.Context) (*larderv1.ExtendResponse, error) {
		return c.rpc.Extend(ctx, &larderv1.ExtendRequest{Key: key, AddMs: ms})
	})
	return res.GetFound(), err
}

// Item is one key of a GetMany answer.
type Item struct {
	// Key is the key.
	Key string
	// Found is false on a miss.
	Found bool
	value *larderv1.Value
}

// Decode stores the item's value into out, as Get does; a miss leaves out alone.
func (it Item) Decode(out any) error {
	if !it.Found {
		return nil
	}
	return decodeValue(it.value, out)
}

// GetMany reads many keys (any number, sent in batches of 1000) and answers
// in request order.
func (c *Client) GetMany(ctx context.Context, keys []string) ([]Item, error) {
	items := make([]Item, 0, len(keys))
	for i := 0; i < len(keys); i += batch {
		part := keys[i:min(i+batch, len(keys))]
		res, err := invoke(ctx, c, true, 0, func(ctx context.Context) (*larderv1.GetManyResponse, error) {
			return c.rpc.GetMany(ctx, &larderv1.GetManyRequest{Keys: part})
		})
		if err != nil {
			return nil, err
		}
		for _, it := range res.GetItems() {
			items = append(items, Item{Key: it.GetKey(), Found: it.GetFound(), value: it.GetValue()})
		}
	}
	return items, nil
}

// Increment atomically adds delta to an integer value, creating it (with
// WithTTL's TTL) if absent, and returns the new value. Not retried: a repeat
// would count twice.
func (c *Client) Increment(ctx context.Context, key string, delta int64, opts ...SetOption) (int64, error) {
	var s setConfig
	for _, o := range opts {
		o(&s)
	}
	req := &larderv1.IncrementRequest{Key: key, Delta: &delta}
	if s.noExpiry {
		req.Expiry = &larderv1.IncrementRequest_NoExpiry{NoExpiry: true}
	} else if s.ttl != 0 {
		ms, err := msOf("ttl", s.ttl)
		if err != nil {
			return 0, err
		}
		req.Expiry = &larderv1.IncrementRequest_TtlMs{TtlMs: ms}
	}
	res, err := invoke(ctx, c, false, 0, func(ctx context.Context) (*larderv1.IncrementResponse, error) {
		return c.rpc.Increment(ctx, req)
	})
	return res.GetValue(), err
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}
