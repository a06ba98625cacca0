package larder_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	larder "github.com/larder/larder/sdk/go"
	"google.golang.org/grpc/codes"
)

func freshID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type order struct {
	ID     string `json:"id"`
	Hit    int    `json:"hit"`
	Tenant string `json:"tenant"`
}

// TestCommands runs RunCommand and CommandEvents against a server whose
// config defines commands over a local upstream, on both stores. The stores
// run in parallel, since the fallback case must wait out cacheSeconds (15 s,
// the minimum) before a failing upstream is called at all.
func TestCommands(t *testing.T) {
	for _, kind := range storeKinds {
		kind := kind
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			url, up := startWithCommands(t, kind)
			c, err := larder.NewClient(url, larder.WithNamespace(commandsNamespace))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			t.Run("live then cached", func(t *testing.T) { testLiveThenCached(t, c, up) })
			t.Run("bodies", func(t *testing.T) { testBodies(t, c) })
			t.Run("errors", func(t *testing.T) { testCommandErrors(t, c) })
			t.Run("fallback and events", func(t *testing.T) { testFallback(t, c, up) })
		})
	}
}

func testLiveThenCached(t *testing.T, c *larder.Client, up *upstream) {
	ctx := context.Background()
	id := freshID()
	run := func() *larder.CommandResult {
		res, err := c.RunCommand(ctx, "order", larder.WithArg("id", id), larder.WithHeader("x-tenant", "acme"))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := run()
	var got order
	if err := first.JSON(&got); err != nil || got != (order{ID: id, Hit: 1, Tenant: "acme"}) {
		t.Fatalf("body %+v %v", got, err)
	}
	if first.Status != 200 || !first.OK() || first.ServedFrom != larder.ServedLive || first.Fallback || first.Age != 0 {
		t.Fatalf("first: %+v", first)
	}
	if !first.IsJSON() || first.Header.Get("X-Upstream") != "test" || first.URL != up.URL+"/orders/"+id {
		t.Fatalf("first headers or url: %v %q", first.Header, first.URL)
	}
	second := run()
	if second.ServedFrom != larder.ServedCached || second.Fallback || second.Status != 200 || second.Age < 0 ||
		!bytes.Equal(second.Body, first.Body) || up.hitsOf(id) != 1 {
		t.Fatalf("second: %+v, upstream hits %d", second, up.hitsOf(id))
	}
}

func testBodies(t *testing.T, c *larder.Client) {
	ctx := context.Background()
	res, err := c.RunCommand(ctx, "blob", larder.WithArgs(map[string]string{"id": "7"}))
	if err != nil || !bytes.Equal(res.Body, blob) {
		t.Fatalf("blob: %v %v", res, err)
	}
	var v any
	if err := res.JSON(&v); larder.ErrorCode(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "body") {
		t.Fatalf("JSON of a binary body: %v", err)
	}
	type query struct {
		Q string `json:"q"`
		N []int  `json:"n"`
	}
	res, err = c.RunCommand(ctx, "echo", larder.WithBody(query{Q: "ü", N: []int{1, 2}}))
	var q query
	if err != nil || res.JSON(&q) != nil || q.Q != "ü" || len(q.N) != 2 {
		t.Fatalf("echo JSON: %+v %v", q, err)
	}
	if res, err = c.RunCommand(ctx, "echo", larder.WithBody([]byte{0, 0xff})); err != nil || !bytes.Equal(res.Body, []byte{0, 0xff}) {
		t.Fatalf("echo bytes: %v %v", res, err)
	}
	if res, err = c.RunCommand(ctx, "echo", larder.WithBody("plain")); err != nil || res.Text() != "plain" {
		t.Fatalf("echo text: %v %v", res, err)
	}
}

func testCommandErrors(t *testing.T, c *larder.Client) {
	ctx := context.Background()
	_, err := c.RunCommand(ctx, "nope")
	if larder.ErrorCode(err) != codes.NotFound || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("undefined command: %v", err)
	}
	_, err = c.RunCommand(ctx, "order", larder.WithArg("bad", "1"))
	if larder.ErrorCode(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "args.bad") {
		t.Fatalf("unknown arg: %v", err)
	}
}

// testFallback: after one stored live response grows older than
// cacheSeconds, a failing upstream is answered from fallback with the stored
// status and body, and the activation is listed; a live success (at the
// latest on the 5th run) deactivates it.
func testFallback(t *testing.T, c *larder.Client, up *upstream) {
	ctx := context.Background()
	id := freshID()
	started := time.Now().Add(-time.Second)
	if res, err := c.RunCommand(ctx, "order", larder.WithArg("id", id)); err != nil || res.ServedFrom != larder.ServedLive {
		t.Fatalf("first run: %v %v", res, err)
	}
	time.Sleep(15500 * time.Millisecond)
	up.setFailing(id, true)
	res, err := c.RunCommand(ctx, "order", larder.WithArg("id", id))
	if err != nil {
		t.Fatal(err)
	}
	var got order
	if res.ServedFrom != larder.ServedFallback || !res.Fallback || res.Status != 200 || res.Age < 15*time.Second ||
		res.JSON(&got) != nil || got.Hit != 1 || up.hitsOf(id) != 2 {
		t.Fatalf("fallback: %+v (%+v), upstream hits %d", res, got, up.hitsOf(id))
	}
	events, err := c.CommandEvents(ctx, "order", 0)
	if err != nil || len(events) == 0 {
		t.Fatalf("events: %v %v", events, err)
	}
	if e := events[0]; e.Kind != larder.FallbackActivated || e.UpstreamStatus != 503 || e.Command != "order" ||
		e.Level != "info" || e.Time.Before(started) {
		t.Fatalf("activation event: %+v", e)
	}

	up.setFailing(id, false)
	live := false
	for i := 0; i < 5 && !live; i++ {
		res, err := c.RunCommand(ctx, "order", larder.WithArg("id", id))
		if err != nil {
			t.Fatal(err)
		}
		live = res.ServedFrom == larder.ServedLive
	}
	if !live {
		t.Fatal("no live run within 5 runs after the upstream recovered")
	}
	if events, err = c.CommandEvents(ctx, "", 1); err != nil || len(events) != 1 || events[0].Kind != larder.FallbackDeactivated {
		t.Fatalf("deactivation event: %+v %v", events, err)
	}
	if events, err = c.CommandEvents(ctx, "no-such-command", 0); err != nil || len(events) != 0 {
		t.Fatalf("events of an unknown command: %+v %v", events, err)
	}
}
