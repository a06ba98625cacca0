package larder

import (
	"context"
	"fmt"

	larderv1 "github.com/larder/larder/sdk/go/gen/larder/v1"
)

// Keys lists every key matching a glob (`*`, `?`, `[a-z]`, `\` escapes; ""
// means all), following all pages, without duplicates, in no particular
// order. For large namespaces prefer IterateKeys or KeysPage.
func (c *Client) Keys(ctx context.Context, pattern string) ([]string, error) {
	// A set because the listing promises "at least once", not "once".
	seen := map[string]bool{}
	keys := []string{}
	it := c.IterateKeys(ctx, pattern, batch)
	for it.Next() {
		if k := it.Key(); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	return keys, nil
}

// KeysPage lists one page of the keys matching a glob: start with cursor ""
// and pass the returned next cursor until it is "". limit is the page size,
// 1 to 1000; 0 means the server's default (100).
func (c *Client) KeysPage(ctx context.Context, pattern, cursor string, limit int) (keys []string, next string, err error) {
	if limit < 0 || limit > batch {
		return nil, "", invalidArgument("limit", fmt.Sprintf("must be from 1 to %d (0: the server's default), got %d", batch, limit))
	}
	req := &larderv1.KeysRequest{Pattern: pattern, Cursor: cursor, Limit: int32(limit)}
	res, err := invoke(ctx, c, true, 0, func(ctx context.Context) (*larderv1.KeysResponse, error) {
		return c.rpc.Keys(ctx, req)
	})
	if err != nil {
		return nil, "", err
	}
	return res.GetKeys(), res.GetNextCursor(), nil
}

// KeyIterator walks the keys matching a glob page by page, fetching the next
// page only when the previous one is consumed:
//
//	it := c.IterateKeys(ctx, "user:*", 100)
//	for it.Next() {
//		use(it.Key())
//	}
//	if err := it.Err(); err != nil { ... }
//
// A key written during the walk may come twice; one present throughout
// comes at least once.
type KeyIterator struct {
	c        *Client
	ctx      context.Context
	pattern  string
	pageSize int
	page     []string
	cursor   string
	started  bool
	key      string
	err      error
}

// IterateKeys returns an iterator over the keys matching a glob; pageSize is
// the keys per round trip, 1 to 1000 (0: the server's default, 100).
func (c *Client) IterateKeys(ctx context.Context, pattern string, pageSize int) *KeyIterator {
	return &KeyIterator{c: c, ctx: ctx, pattern: pattern, pageSize: pageSize}
}

// Next advances to the next key and reports whether there is one; false at
// the end or on an error (see Err).
func (it *KeyIterator) Next() bool {
	for len(it.page) == 0 {
		if it.err != nil || (it.started && it.cursor == "") {
			return false
		}
		it.started = true
		it.page, it.cursor, it.err = it.c.KeysPage(it.ctx, it.pattern, it.cursor, it.pageSize)
	}
	it.key, it.page = it.page[0], it.page[1:]
	return true
}

// Key is the current key.
func (it *KeyIterator) Key() string { return it.key }

// Err is the error that ended the iteration, if any.
func (it *KeyIterator) Err() error { return it.err }
