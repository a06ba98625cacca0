package larder_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	larder "github.com/larder/larder/sdk/go"
	"google.golang.org/grpc/codes"
)

type profile struct {
	Name string   `json:"name"`
	Plan string   `json:"plan"`
	Tags []string `json:"tags"`
}

// TestIdiomaticUse covers what the shared scenarios cannot express: typed
// values, the lock holder, single flight and local argument checks.
func TestIdiomaticUse(t *testing.T) {
	url := startLarder(t, "memory")
	ctx := context.Background()
	c, err := larder.NewClient(url, larder.WithNamespace(freshNamespace()), larder.WithTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	t.Run("typed values", func(t *testing.T) {
		in := profile{Name: "Alice", Plan: "pro", Tags: []string{"a", "ü"}}
		if _, err := c.Set(ctx, "user:1", in, larder.WithTTL(time.Minute)); err != nil {
			t.Fatal(err)
		}
		var out profile
		found, err := c.Get(ctx, "user:1", &out)
		if err != nil || !found || out.Name != "Alice" || len(out.Tags) != 2 {
			t.Fatalf("got %+v %v %v", out, found, err)
		}
		var missing profile
		if found, err := c.Get(ctx, "nope", &missing); found || err != nil {
			t.Fatalf("miss: %v %v", found, err)
		}
	})

	t.Run("lock holder and deferred unlock", func(t *testing.T) {
		h, err := c.Lock(ctx, "job", larder.WithLockTTL(30*time.Second), larder.WithOwner("worker-1"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Lock(ctx, "job", larder.WithWait(100*time.Millisecond))
		if !larder.IsLockNotAcquired(err) || err.(*larder.Error).Holder.Owner != "worker-1" {
			t.Fatalf("want lock not acquired held by worker-1, got %v", err)
		}
		if ok, err := h.Unlock(ctx); !ok || err != nil {
			t.Fatalf("unlock: %v %v", ok, err)
		}
	})

	t.Run("get or set computes once for concurrent callers", func(t *testing.T) {
		var calls int32
		var wg sync.WaitGroup
		results := make([]string, 8)
		for i := range results {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				err := c.GetOrSet(ctx, "computed", &results[i], func(context.Context) (any, error) {
					atomic.AddInt32(&calls, 1)
					time.Sleep(200 * time.Millisecond)
					return "v", nil
				}, larder.WithTTL(time.Minute))
				if err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		if calls != 1 || results[0] != "v" || results[7] != "v" {
			t.Fatalf("calls %d, results %v", calls, results)
		}
	})

	t.Run("local argument errors", func(t *testing.T) {
		if _, err := c.Set(ctx, "k", 1, larder.WithTTL(-time.Second)); larder.ErrorCode(err) != codes.InvalidArgument {
			t.Fatalf("negative ttl: %v", err)
		}
		if _, err := c.Set(ctx, "k", make(chan int)); larder.ErrorCode(err) != codes.InvalidArgument {
			t.Fatalf("unserializable: %v", err)
		}
	})

	t.Run("unreachable server is UNAVAILABLE after retries", func(t *testing.T) {
		dead, err := larder.NewClient("http://127.0.0.1:9", larder.WithTimeout(time.Second), larder.WithRetries(1))
		if err != nil {
			t.Fatal(err)
		}
		defer dead.Close()
		if _, err := dead.Has(ctx, "k"); larder.ErrorCode(err) != codes.Unavailable {
			t.Fatalf("got %v", err)
		}
	})
}
