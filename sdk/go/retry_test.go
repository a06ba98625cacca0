package larder_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	larder "github.com/larder/larder/sdk/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// unavailableServer answers every call UNAVAILABLE and counts the attempts
// of each method: a stand-in for a server whose store is down.
type unavailableServer struct {
	mu       sync.Mutex
	attempts map[string]int
}

func startUnavailable(t *testing.T) (string, *unavailableServer) {
	s := &unavailableServer{attempts: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// With no service registered, every method reaches this handler.
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(stream)
		s.mu.Lock()
		s.attempts[method[strings.LastIndex(method, "/")+1:]]++
		s.mu.Unlock()
		return status.Error(codes.Unavailable, "store down")
	}))
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return "http://" + l.Addr().String(), s
}

func (s *unavailableServer) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.attempts
	s.attempts = map[string]int{}
	return out
}

// TestRetries checks that only calls safe to repeat are retried on UNAVAILABLE.
func TestRetries(t *testing.T) {
	const retries = 2
	url, server := startUnavailable(t)
	c, err := larder.NewClient(url, larder.WithRetries(retries), larder.WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	guard := &larder.LockHandle{Name: "l", Token: "t"}
	cases := []struct {
		rpc     string
		retried bool
		call    func() error
	}{
		{"Get", true, func() error { _, err := c.Get(ctx, "k", nil); return err }},
		{"Set", true, func() error { _, err := c.Set(ctx, "k", 1); return err }},
		{"Set", false, func() error { _, err := c.Set(ctx, "k", 1, larder.OnlyIfAbsent()); return err }},
		{"Set", false, func() error { _, err := c.Set(ctx, "k", 1, larder.WithLock(guard)); return err }},
		{"SetMany", true, func() error {
			return c.SetMany(ctx, []larder.Entry{{Key: "a", Value: 1}, {Key: "b", Value: 2}}, larder.WithTTL(time.Second))
		}},
		{"Delete", true, func() error { _, err := c.DeleteMany(ctx, []string{"a", "b"}); return err }},
		{"Keys", true, func() error { _, err := c.Keys(ctx, ""); return err }},
		{"Increment", false, func() error { _, err := c.Increment(ctx, "n", 1); return err }},
		{"Extend", false, func() error { _, err := c.Extend(ctx, "k", time.Second); return err }},
		{"Lock", false, func() error { _, err := c.TryLock(ctx, "l"); return err }},
		{"CheckLock", true, func() error { _, err := c.CheckLock(ctx, "l", 0); return err }},
		{"ListLocks", true, func() error { _, err := c.ListLocks(ctx, ""); return err }},
		{"RunCommand", false, func() error { _, err := c.RunCommand(ctx, "cmd", larder.WithArg("id", "1")); return err }},
		{"ListCommandEvents", true, func() error { _, err := c.CommandEvents(ctx, "", 0); return err }},
	}
	for _, tc := range cases {
		err := tc.call()
		want := 1
		if tc.retried {
			want += retries
		}
		if got := server.take(); larder.ErrorCode(err) != codes.Unavailable || len(got) != 1 || got[tc.rpc] != want {
			t.Errorf("%s (retried %v): error %v, attempts %v, want %d", tc.rpc, tc.retried, err, got, want)
		}
	}
}
