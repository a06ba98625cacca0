package larder

import (
	"context"
	"fmt"
	"time"

	larderv1 "github.com/larder/larder/sdk/go/gen/larder/v1"
)

// Entry is one entry of SetMany.
type Entry struct {
	// Key is the key to write.
	Key string
	// Value is encoded like Set's value: JSON, or binary for a []byte.
	Value any
	// TTL is the entry's time to live; 0 means SetMany's WithTTL, else the
	// namespace default.
	TTL time.Duration
}

// SetMany writes many entries unconditionally, each with its own TTL (any
// number; sent in batches of 1000, so a failure may leave earlier batches
// written). Of the SetOptions, only WithTTL applies: the TTL of entries
// without one. Every entry is encoded before the first request is sent.
// Retried on UNAVAILABLE, since writing an entry twice leaves the same state.
func (c *Client) SetMany(ctx context.Context, entries []Entry, opts ...SetOption) error {
	var s setConfig
	for _, o := range opts {
		o(&s)
	}
	if s.noExpiry || s.mode != larderv1.SetMode_SET_MODE_UNSPECIFIED || s.lock != nil {
		return invalidArgument("opts", "SetMany writes unconditionally and takes only WithTTL")
	}
	wire := make([]*larderv1.SetManyEntry, len(entries))
	for i, e := range entries {
		value, err := encodeValue(e.Value)
		if err != nil {
			err.(*Error).Message = fmt.Sprintf("entries[%d].%s", i, err.(*Error).Message)
			return err
		}
		entry := &larderv1.SetManyEntry{Key: e.Key, Value: value}
		ttl, field := e.TTL, fmt.Sprintf("entries[%d].ttl", i)
		if ttl == 0 {
			ttl, field = s.ttl, "ttl"
		}
		if ttl != 0 {
			ms, err := msOf(field, ttl)
			if err != nil {
				return err
			}
			entry.Expiry = &larderv1.SetManyEntry_TtlMs{TtlMs: ms}
		}
		wire[i] = entry
	}
	for i := 0; i < len(wire); i += batch {
		req := &larderv1.SetManyRequest{Entries: wire[i:min(i+batch, len(wire))]}
		if _, err := invoke(ctx, c, true, 0, func(ctx context.Context) (*larderv1.SetManyResponse, error) {
			return c.rpc.SetMany(ctx, req)
		}); err != nil {
			return err
		}
	}
	return nil
}

// DeleteMany removes any number of keys (sent in batches of 1000) and
// returns how many of them existed. Retried on UNAVAILABLE: deleting twice
// leaves the same state, only the count can then be lower.
func (c *Client) DeleteMany(ctx context.Context, keys []string) (int64, error) {
	var deleted int64
	for i := 0; i < len(keys); i += batch {
		req := &larderv1.DeleteRequest{Keys: keys[i:min(i+batch, len(keys))]}
		res, err := invoke(ctx, c, true, 0, func(ctx context.Context) (*larderv1.DeleteResponse, error) {
			return c.rpc.Delete(ctx, req)
		})
		if err != nil {
			return deleted, err
		}
		deleted += res.GetDeleted()
	}
	return deleted, nil
}
