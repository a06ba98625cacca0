package larder_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	larder "github.com/larder/larder/sdk/go"
	"google.golang.org/grpc/codes"
)

// TestOperations covers the batch, listing and lock operations and the
// server's errors against a live server on each store.
func TestOperations(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			url := startLarder(t, kind)
			client := func(t *testing.T, opts ...larder.Option) *larder.Client {
				c, err := larder.NewClient(url, append([]larder.Option{larder.WithNamespace(freshNamespace())}, opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				return c
			}
			t.Run("set many with per-entry TTL in batches", func(t *testing.T) { testSetMany(t, client(t)) })
			t.Run("delete many counts across batches", func(t *testing.T) { testDeleteMany(t, client(t)) })
			t.Run("keys pages and iterator", func(t *testing.T) { testKeyPages(t, client(t)) })
			t.Run("try, check and list locks", func(t *testing.T) { testLockChecks(t, client(t)) })
			t.Run("auto renew keeps a lock past its TTL", func(t *testing.T) { testAutoRenew(t, client(t)) })
			t.Run("get or set renews its compute lock", func(t *testing.T) {
				ns := freshNamespace()
				open := func() *larder.Client {
					c, err := larder.NewClient(url, larder.WithNamespace(ns), larder.WithComputeLockTTL(time.Second))
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = c.Close() })
					return c
				}
				testComputeRenewal(t, open(), open())
			})
			t.Run("errors carry the code and the server's message", func(t *testing.T) { testErrors(t, client(t)) })
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testSetMany(t *testing.T, c *larder.Client) {
	ctx := context.Background()
	entries := make([]larder.Entry, 2500) // three batches
	for i := range entries {
		entries[i] = larder.Entry{Key: fmt.Sprintf("k%d", i), Value: map[string]int{"n": i}}
	}
	must(t, c.SetMany(ctx, entries, larder.WithTTL(time.Minute)))
	must(t, c.SetMany(ctx, []larder.Entry{
		{Key: "short", Value: "gone soon", TTL: 300 * time.Millisecond},
		{Key: "long", Value: []byte{0, 1}},
	}, larder.WithTTL(time.Minute)))
	var n struct{ N int }
	if found, err := c.Get(ctx, "k2499", &n); !found || err != nil || n.N != 2499 {
		t.Fatalf("k2499: %v %v %v", n, found, err)
	}
	if has, _ := c.Has(ctx, "short"); !has {
		t.Fatal("short is missing before its TTL")
	}
	time.Sleep(500 * time.Millisecond)
	items, err := c.GetMany(ctx, []string{"short", "long"})
	var long []byte
	if err != nil || items[0].Found || !items[1].Found || items[1].Decode(&long) != nil || len(long) != 2 {
		t.Fatalf("after the short TTL: %+v %v", items, err)
	}
	keys, err := c.Keys(ctx, "k*")
	if err != nil || len(keys) != 2500 {
		t.Fatalf("keys: %d %v", len(keys), err)
	}
	must(t, c.SetMany(ctx, nil))
	if err := c.SetMany(ctx, entries[:1], larder.OnlyIfAbsent()); larder.ErrorCode(err) != codes.InvalidArgument {
		t.Fatalf("a condition: %v", err)
	}
}

func testDeleteMany(t *testing.T, c *larder.Client) {
	ctx := context.Background()
	entries := make([]larder.Entry, 1500)
	keys := make([]string, 1500)
	for i := range entries {
		keys[i] = fmt.Sprintf("d%d", i)
		entries[i] = larder.Entry{Key: keys[i], Value: i}
	}
	must(t, c.SetMany(ctx, entries))
	if n, err := c.DeleteMany(ctx, append(keys, "missing")); n != 1500 || err != nil {
		t.Fatalf("delete many: %d %v", n, err)
	}
	must(t, c.SetMany(ctx, []larder.Entry{{Key: "a", Value: 1}, {Key: "b", Value: 2}}))
	if ok, err := c.Delete(ctx, "a", "b", "c"); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if ok, err := c.Delete(ctx, "a", "b"); ok || err != nil {
		t.Fatalf("delete again: %v %v", ok, err)
	}
}

func testKeyPages(t *testing.T, c *larder.Client) {
	ctx := context.Background()
	want := []string{}
	entries := []larder.Entry{{Key: "other", Value: 0}}
	for i := 0; i < 30; i++ {
		want = append(want, fmt.Sprintf("p:%02d", i))
		entries = append(entries, larder.Entry{Key: want[i], Value: i})
	}
	must(t, c.SetMany(ctx, entries))
	seen := map[string]bool{}
	pages := 0
	for cursor := ""; ; pages++ {
		keys, next, err := c.KeysPage(ctx, "p:*", cursor, 7)
		must(t, err)
		if len(keys) > 7 {
			t.Fatalf("page of %d keys", len(keys))
		}
		for _, k := range keys {
			seen[k] = true
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(seen) != 30 || pages < 4 {
		t.Fatalf("KeysPage: %d keys in %d pages", len(seen), pages+1)
	}
	it := c.IterateKeys(ctx, "p:*", 7)
	got := map[string]bool{}
	for it.Next() {
		got[it.Key()] = true
	}
	if it.Err() != nil || len(got) != 30 {
		t.Fatalf("IterateKeys: %d %v", len(got), it.Err())
	}
	all, err := c.Keys(ctx, "")
	sort.Strings(all)
	if err != nil || len(all) != 31 || all[30] != "p:29" {
		t.Fatalf("Keys: %v %v", all, err)
	}
	if _, _, err := c.KeysPage(ctx, "", "", 5000); larder.ErrorCode(err) != codes.InvalidArgument {
		t.Fatalf("limit over 1000: %v", err)
	}
}

func testLockChecks(t *testing.T, c *larder.Client) {
	ctx := context.Background()
	if free, err := c.CheckLock(ctx, "job", 0); !free || err != nil {
		t.Fatalf("check free: %v %v", free, err)
	}
	held, err := c.TryLock(ctx, "job", larder.WithLockTTL(30*time.Second), larder.WithOwner("worker-1"))
	if err != nil || held == nil || held.FencingToken <= 0 {
		t.Fatalf("try lock: %v %v", held, err)
	}
	if again, err := c.TryLock(ctx, "job"); again != nil || err != nil {
		t.Fatalf("try lock while held: %v %v", again, err)
	}
	if free, err := c.CheckLock(ctx, "job", 0); free || err != nil {
		t.Fatalf("check held: %v %v", free, err)
	}
	other, err := c.Lock(ctx, "other-job", larder.WithLockTTL(30*time.Second))
	must(t, err)
	locks, err := c.ListLocks(ctx, "")
	must(t, err)
	if len(locks) != 2 {
		t.Fatalf("list locks: %+v", locks)
	}
	for _, l := range locks {
		if l.Name == "job" && (l.Owner != "worker-1" || l.FencingToken != held.FencingToken || l.ExpiresAt.IsZero()) {
			t.Fatalf("job lock: %+v", l)
		}
	}
	if locks, err = c.ListLocks(ctx, "other-*"); err != nil || len(locks) != 1 || locks[0].Name != "other-job" {
		t.Fatalf("list other-*: %+v %v", locks, err)
	}
	// CheckLock with a wait answers as soon as the holder releases.
	time.AfterFunc(300*time.Millisecond, func() { _, _ = held.Unlock(context.Background()) })
	start := time.Now()
	if free, err := c.CheckLock(ctx, "job", 5*time.Second); !free || err != nil || time.Since(start) > 3*time.Second {
		t.Fatalf("check with wait: %v %v after %s", free, err, time.Since(start))
	}
	_, _ = other.Unlock(ctx)
	if locks, err = c.ListLocks(ctx, ""); err != nil || len(locks) != 0 {
		t.Fatalf("after unlock: %+v %v", locks, err)
	}
}

func testAutoRenew(t *testing.T, c *larder.Client) {
	ctx := context.Background()
	h, err := c.Lock(ctx, "long", larder.WithLockTTL(time.Second), larder.WithAutoRenew())
	must(t, err)
	time.Sleep(2200 * time.Millisecond)
	if again, err := c.TryLock(ctx, "long"); again != nil || err != nil {
		t.Fatalf("renewed lock was taken: %v %v", again, err)
	}
	select {
	case <-h.Lost():
		t.Fatal("lost while renewed")
	default:
	}
	if !h.Expiry().After(h.ExpiresAt) {
		t.Fatalf("expiry did not move: %s vs %s", h.Expiry(), h.ExpiresAt)
	}
	if ok, err := h.Unlock(ctx); !ok || err != nil {
		t.Fatalf("unlock: %v %v", ok, err)
	}
	// Without renewal the same lock is free after its TTL.
	_, err = c.Lock(ctx, "short", larder.WithLockTTL(500*time.Millisecond))
	must(t, err)
	time.Sleep(800 * time.Millisecond)
	if free, err := c.CheckLock(ctx, "short", 0); !free || err != nil {
		t.Fatalf("unrenewed lock still held: %v %v", free, err)
	}
}

// testComputeRenewal: two clients (two processes, as far as the lock is
// concerned) race on a factory slower than the compute lock's TTL; it runs once.
func testComputeRenewal(t *testing.T, a, b *larder.Client) {
	ctx := context.Background()
	var calls int32
	results := make([]string, 2)
	var wg sync.WaitGroup
	for i, c := range []*larder.Client{a, b} {
		wg.Add(1)
		go func(i int, c *larder.Client) {
			defer wg.Done()
			err := c.GetOrSet(ctx, "slow", &results[i], func(context.Context) (any, error) {
				n := atomic.AddInt32(&calls, 1)
				time.Sleep(2500 * time.Millisecond)
				return fmt.Sprintf("computed %d", n), nil
			}, larder.WithTTL(time.Minute))
			if err != nil {
				t.Error(err)
			}
		}(i, c)
	}
	wg.Wait()
	if calls != 1 || results[0] != "computed 1" || results[1] != "computed 1" {
		t.Fatalf("calls %d, results %v", calls, results)
	}
	if locks, err := a.ListLocks(ctx, "larder:compute:*"); err != nil || len(locks) != 0 {
		t.Fatalf("compute lock left: %+v %v", locks, err)
	}
}

func testErrors(t *testing.T, c *larder.Client) {
	ctx := context.Background()
	// A stale handle: its grant was released and the lock went to another.
	stale, err := c.Lock(ctx, "real", larder.WithLockTTL(30*time.Second))
	must(t, err)
	_, _ = stale.Unlock(ctx)
	lock, err := c.Lock(ctx, "real", larder.WithLockTTL(30*time.Second))
	must(t, err)
	defer func() { _, _ = lock.Unlock(ctx) }()
	big := make([]byte, 1024*1024+1)
	empty := &larder.LockHandle{Name: "real"}
	cases := []struct {
		code  codes.Code
		field string
		call  func() error
	}{
		{codes.InvalidArgument, "key", func() error { _, err := c.Set(ctx, "", 1); return err }},
		{codes.InvalidArgument, "entries[1].key", func() error {
			return c.SetMany(ctx, []larder.Entry{{Key: "ok", Value: 1}, {Key: "", Value: 2}})
		}},
		{codes.InvalidArgument, "value", func() error { _, err := c.Set(ctx, "big", big); return err }},
		{codes.InvalidArgument, "entries[0].value", func() error { return c.SetMany(ctx, []larder.Entry{{Key: "big", Value: big}}) }},
		{codes.InvalidArgument, "ttl_ms", func() error { _, err := c.Set(ctx, "k", 1, larder.WithTTL(31*24*time.Hour)); return err }},
		{codes.InvalidArgument, "entries[0].ttl", func() error {
			return c.SetMany(ctx, []larder.Entry{{Key: "k", Value: 1, TTL: -time.Second}})
		}},
		{codes.InvalidArgument, "lock_guard", func() error { _, err := c.Set(ctx, "k", 1, larder.WithLock(empty)); return err }},
		{codes.FailedPrecondition, "no longer held", func() error { _, err := stale.Extend(ctx, 0); return err }},
		{codes.NotFound, `"undefined-command"`, func() error { _, err := c.RunCommand(ctx, "undefined-command"); return err }},
	}
	for _, tc := range cases {
		err := tc.call()
		if larder.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("want %s naming %q, got %v", larder.CodeName(tc.code), tc.field, err)
		}
	}
	// A wrong token is "not applied", not an error.
	if applied, err := c.Set(ctx, "k", 1, larder.WithLock(stale)); applied || err != nil {
		t.Fatalf("guarded set with a wrong token: %v %v", applied, err)
	}
}
