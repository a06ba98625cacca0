package larder_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serverEntry is the built server that bin/larder.js loads, relative to the
// repository; its absence means `npm run build` has not run.
const serverEntry = "dist/app/cli.js"

// repoRoot is the repository this SDK lives in. The working directory may be
// a GOPATH symlink to sdk/go, so the symlink is resolved first.
func repoRoot(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(wd)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(real))
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitFor(t testing.TB, what string, cmd *exec.Cmd, ready func() bool) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cmd.ProcessState != nil {
			t.Fatalf("%s exited: %v", what, cmd.ProcessState)
		}
		if ready() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not become ready within 30 s", what)
}

func start(t testing.TB, cmd *exec.Cmd) {
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", cmd.Path, err)
	}
	go func() { _ = cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		time.Sleep(100 * time.Millisecond)
		_ = cmd.Process.Kill()
	})
}

// startRedis starts a redis-server of the test's own, without persistence.
// A missing redis-server fails the test: nothing is skipped.
func startRedis(t testing.TB) string {
	port := freePort(t)
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--loglevel", "warning")
	start(t, cmd)
	waitFor(t, "redis-server", cmd, func() bool {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 500*time.Millisecond)
		if err != nil {
			return false
		}
		defer conn.Close()
		_, _ = conn.Write([]byte("PING\r\n"))
		buf := make([]byte, 16)
		n, _ := conn.Read(buf)
		return strings.HasPrefix(string(buf[:n]), "+PONG")
	})
	return fmt.Sprintf("redis://127.0.0.1:%d", port)
}

type syncBuffer struct {
	buf bytes.Buffer
	mu  chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) contains(s string) bool {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return strings.Contains(b.buf.String(), s)
}

// startLarder starts the repository's built server (npm run build) on the
// given store kind, with extra environment variables ("NAME=value", e.g.
// LARDER_CONFIG), and returns its URL.
func startLarder(t testing.TB, kind string, extraEnv ...string) string {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(serverEntry))); err != nil {
		t.Fatalf("the server is not built: run npm run build (%v)", err)
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REDIS_URL=") && !strings.HasPrefix(kv, "LARDER_CONFIG=") {
			env = append(env, kv)
		}
	}
	if kind == "redis" {
		env = append(env, "REDIS_URL="+startRedis(t))
	}
	port := freePort(t)
	cmd := exec.Command("node", filepath.Join(root, "bin", "larder.js"), "serve")
	cmd.Env = append(env, fmt.Sprintf("LARDER_PORT=%d", port), "LARDER_HOST=127.0.0.1", "LARDER_LOG_LEVEL=info")
	cmd.Env = append(cmd.Env, extraEnv...)
	out := &syncBuffer{mu: make(chan struct{}, 1)}
	cmd.Stdout, cmd.Stderr = out, out
	start(t, cmd)
	waitFor(t, "larder", cmd, func() bool { return out.contains("larder listening") })
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

var storeKinds = []string{"memory", "redis"}
