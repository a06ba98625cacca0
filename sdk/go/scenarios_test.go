package larder_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	larder "github.com/larder/larder/sdk/go"
)

// step is one step of a language-neutral scenario (test/scenarios/README.md).
type step struct {
	Op       string          `json:"op"`
	Key      string          `json:"key"`
	Keys     []string        `json:"keys"`
	Value    json.RawMessage `json:"value"`
	TTL      *float64        `json:"ttl"`
	Seconds  float64         `json:"seconds"`
	Pattern  string          `json:"pattern"`
	Delta    *int64          `json:"delta"`
	Name     string          `json:"name"`
	Wait     float64         `json:"wait"`
	As       string          `json:"as"`
	Handle   string          `json:"handle"`
	Lock     string          `json:"lock"`
	Ms       int             `json:"ms"`
	Computed *bool           `json:"computed"`
	Entries  []struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
		TTL   float64         `json:"ttl"`
	} `json:"entries"`
	Args    map[string]string `json:"args"`
	Body    json.RawMessage   `json:"body"`
	Command string            `json:"command"`
	Expect  json.RawMessage   `json:"expect"`
	Error   string            `json:"error"`
	Message string            `json:"message"`
}

type scenario struct {
	Name  string `json:"name"`
	Steps []step `json:"steps"`
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// toSDK turns a scenario value into what a Go caller would pass:
// {"$bytes": base64} a []byte, {"$repeat": [text, n]} the text n times.
func toSDK(raw json.RawMessage) any {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		panic(err)
	}
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if b, ok := m["$bytes"].(string); ok {
			bytes, _ := base64.StdEncoding.DecodeString(b)
			return bytes
		}
		if r, ok := m["$repeat"].([]any); ok && len(r) == 2 {
			return strings.Repeat(r[0].(string), int(r[1].(float64)))
		}
	}
	return v
}

// fromSDK turns what the SDK returned into the scenario notation.
func fromSDK(v any) any {
	if b, ok := v.([]byte); ok {
		return map[string]any{"$bytes": base64.StdEncoding.EncodeToString(b)}
	}
	return v
}

func run(ctx context.Context, t *testing.T, c *larder.Client, s step, handles map[string]*larder.LockHandle) (any, error) {
	var setOpts []larder.SetOption
	if s.TTL != nil {
		setOpts = append(setOpts, larder.WithTTL(seconds(*s.TTL)))
	}
	switch s.Op {
	case "set":
		if s.Lock != "" {
			setOpts = append(setOpts, larder.WithLock(handles[s.Lock]))
		}
		return c.Set(ctx, s.Key, toSDK(s.Value), setOpts...)
	case "get":
		var out any
		found, err := c.Get(ctx, s.Key, &out)
		if !found {
			return nil, err
		}
		return fromSDK(out), err
	case "has":
		return c.Has(ctx, s.Key)
	case "delete":
		return c.Delete(ctx, s.Key)
	case "extend":
		return c.Extend(ctx, s.Key, seconds(s.Seconds))
	case "keys":
		keys, err := c.Keys(ctx, s.Pattern)
		sort.Strings(keys)
		return keys, err
	case "get_many":
		items, err := c.GetMany(ctx, s.Keys)
		values := []any{}
		for _, it := range items {
			var v any
			if err := it.Decode(&v); err != nil {
				return nil, err
			}
			values = append(values, fromSDK(v))
		}
		return values, err
	case "get_or_set":
		computed := false
		var out any
		err := c.GetOrSet(ctx, s.Key, &out, func(context.Context) (any, error) {
			computed = true
			return toSDK(s.Value), nil
		}, setOpts...)
		if err == nil && s.Computed != nil && computed != *s.Computed {
			t.Errorf("get_or_set %q: factory ran = %v, want %v", s.Key, computed, *s.Computed)
		}
		return fromSDK(out), err
	case "increment":
		delta := int64(1)
		if s.Delta != nil {
			delta = *s.Delta
		}
		return c.Increment(ctx, s.Key, delta, setOpts...)
	case "lock":
		var opts []larder.LockOption
		if s.TTL != nil {
			opts = append(opts, larder.WithLockTTL(seconds(*s.TTL)))
		}
		if s.Wait > 0 {
			opts = append(opts, larder.WithWait(seconds(s.Wait)))
		}
		h, err := c.Lock(ctx, s.Name, opts...)
		if err != nil {
			return nil, err
		}
		if h.FencingToken <= 0 || h.Token == "" {
			t.Errorf("lock %q: no token or fencing token", s.Name)
		}
		if s.As != "" {
			handles[s.As] = h
		} else {
			_, _ = h.Unlock(ctx)
		}
		return map[string]any{"acquired": true}, nil
	case "unlock":
		return handles[s.Handle].Unlock(ctx)
	case "set_many":
		// SetMany returns no per-entry results, so "created" is not checked here.
		entries := make([]larder.Entry, len(s.Entries))
		for i, e := range s.Entries {
			entries[i] = larder.Entry{Key: e.Key, Value: toSDK(e.Value), TTL: seconds(e.TTL)}
		}
		return nil, c.SetMany(ctx, entries)
	case "run_command":
		opts := []larder.CommandOption{larder.WithArgs(s.Args)}
		if s.Body != nil {
			opts = append(opts, larder.WithBody(toSDK(s.Body)))
		}
		res, err := c.RunCommand(ctx, s.Name, opts...)
		if err != nil {
			return nil, err
		}
		var body any
		if err := res.JSON(&body); err != nil {
			return nil, err
		}
		return map[string]any{"status": res.Status, "served_from": res.ServedFrom, "fallback": res.Fallback, "body": body}, nil
	case "command_events":
		events, err := c.CommandEvents(ctx, s.Command, 0)
		out := []any{}
		for _, e := range events {
			out = append(out, map[string]any{"command": e.Command, "kind": e.Kind, "upstream_status": e.UpstreamStatus})
		}
		return out, err
	case "sleep":
		time.Sleep(time.Duration(s.Ms) * time.Millisecond)
		return nil, nil
	}
	return nil, fmt.Errorf("unknown op %q", s.Op)
}

// normalize makes Go values and decoded JSON comparable: both through JSON.
func normalize(v any) any {
	text, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	_ = json.Unmarshal(text, &out)
	return out
}

func loadScenarios(t *testing.T) map[string]scenario {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "test", "scenarios", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios found: %v", err)
	}
	out := map[string]scenario{}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s scenario
		if err := json.Unmarshal(text, &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = s
	}
	return out
}

func freshNamespace() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "go-" + hex.EncodeToString(b)
}

// startScenarioServer starts a server with the scenario settings
// (test/scenarios/README.md): a small value limit, and the commands echo
// (the upstream's POST /echo answers the request body) and down (nothing
// listens on port 1) in each of namespaces, which must be chosen before the
// server starts since commands are configured per namespace.
func startScenarioServer(t *testing.T, kind string, namespaces []string) string {
	up := startUpstream(t)
	common := func(m map[string]any) map[string]any {
		m["allowPrivateNetwork"], m["cacheSeconds"], m["timeoutMs"] = true, 15, 3000
		return m
	}
	commands := map[string]any{
		"echo": common(map[string]any{"method": "POST", "url": up.URL + "/echo"}),
		"down": common(map[string]any{"url": "http://127.0.0.1:1/"}),
	}
	byNamespace := map[string]any{}
	for _, ns := range namespaces {
		byNamespace[ns] = commands
	}
	text, err := json.Marshal(map[string]any{"limits": map[string]any{"maxValueBytes": 1024}, "commands": byNamespace})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "larder.json")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return startLarder(t, kind, "LARDER_CONFIG="+path)
}

// TestScenarios runs every shared scenario against a live server on each store.
func TestScenarios(t *testing.T) {
	scenarios := loadScenarios(t)
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			namespaces := map[string]string{}
			list := []string{}
			for _, name := range names {
				namespaces[name] = freshNamespace()
				list = append(list, namespaces[name])
			}
			url := startScenarioServer(t, kind, list)
			for _, name := range names {
				sc, ns := scenarios[name], namespaces[name]
				t.Run(name, func(t *testing.T) { runScenario(t, url, ns, sc) })
			}
		})
	}
}

func runScenario(t *testing.T, url, ns string, sc scenario) {
	ctx := context.Background()
	c, err := larder.NewClient(url, larder.WithNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	handles := map[string]*larder.LockHandle{}
	defer func() {
		for _, h := range handles {
			_, _ = h.Unlock(ctx)
		}
	}()
	for i, s := range sc.Steps {
		where := fmt.Sprintf("step %d (%s %q)", i+1, s.Op, s.Key+s.Name+s.Handle)
		got, err := run(ctx, t, c, s, handles)
		if s.Error != "" {
			if code := larder.CodeName(larder.ErrorCode(err)); code != s.Error {
				t.Fatalf("%s: error %v (%s), want %s", where, err, code, s.Error)
			}
			if !strings.Contains(err.Error(), s.Message) {
				t.Fatalf("%s: error %q does not name %q", where, err, s.Message)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if s.Op == "sleep" {
			continue
		}
		var want any
		if err := json.Unmarshal(s.Expect, &want); err != nil {
			t.Fatalf("%s: bad expect: %v", where, err)
		}
		if g := normalize(got); !reflect.DeepEqual(g, want) {
			t.Fatalf("%s: got %#v, want %#v", where, g, want)
		}
	}
}
