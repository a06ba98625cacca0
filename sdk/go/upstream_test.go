package larder_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// commandsNamespace is the namespace whose commands the test config defines.
const commandsNamespace = "go-commands"

// blob is the body of GET /blob/<id>: every byte value, so not UTF-8.
var blob = func() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// upstream is the local HTTP upstream of the configured commands. GET
// /orders/<id> answers JSON with a per-id hit count (503 while the id is
// failing); GET /blob/<id> answers blob; POST /echo returns its body and
// content type.
type upstream struct {
	*httptest.Server
	mu      sync.Mutex
	hits    map[string]int
	failing map[string]bool
}

func startUpstream(t testing.TB) *upstream {
	u := &upstream{hits: map[string]int{}, failing: map[string]bool{}}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/echo":
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("content-type", r.Header.Get("content-type"))
		_, _ = w.Write(body)
	case len(parts) == 3 && parts[1] == "blob":
		w.Header().Set("content-type", "application/octet-stream")
		_, _ = w.Write(blob)
	case len(parts) == 3 && parts[1] == "orders":
		id := parts[2]
		u.mu.Lock()
		u.hits[id]++
		hit, failing := u.hits[id], u.failing[id]
		u.mu.Unlock()
		if failing {
			w.Header().Set("content-type", "text/plain")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("upstream down"))
			return
		}
		w.Header().Set("content-type", "application/json")
		w.Header().Set("x-upstream", "test")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "hit": hit, "tenant": r.Header.Get("x-tenant")})
	default:
		http.NotFound(w, r)
	}
}

func (u *upstream) setFailing(id string, failing bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.failing[id] = failing
}

func (u *upstream) hitsOf(id string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[id]
}

// startWithCommands starts an upstream and a Larder server on the given
// store kind whose config file defines commands over it: a cached JSON one
// with fallback, an uncached binary one and an uncached POST echo. The
// upstream is on loopback, which a command must allow explicitly.
func startWithCommands(t testing.TB, kind string) (string, *upstream) {
	up := startUpstream(t)
	common := map[string]any{"allowPrivateNetwork": true, "timeoutMs": 3000}
	with := func(m map[string]any) map[string]any {
		for k, v := range common {
			m[k] = v
		}
		return m
	}
	config := map[string]any{"commands": map[string]any{commandsNamespace: map[string]any{
		"order": with(map[string]any{"url": up.URL + "/orders/{id}", "args": []string{"id"}, "cacheSeconds": 15,
			"passHeaders": []string{"x-tenant"}}),
		"blob": with(map[string]any{"url": up.URL + "/blob/{id}", "args": []string{"id"}}),
		"echo": with(map[string]any{"method": "POST", "url": up.URL + "/echo"}),
	}}}
	text, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "larder.json")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return startLarder(t, kind, "LARDER_CONFIG="+path), up
}
