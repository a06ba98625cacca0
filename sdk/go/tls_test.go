package larder_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	larder "github.com/larder/larder/sdk/go"
	"google.golang.org/grpc/codes"
)

// makeCerts runs scripts/test-certs.sh into a temp dir: a CA with a server
// and a client certificate, and an unrelated CA.
func makeCerts(t *testing.T) string {
	dir := t.TempDir()
	out, err := exec.Command("bash", filepath.Join(repoRoot(t), "scripts", "test-certs.sh"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("test-certs.sh: %v\n%s", err, out)
	}
	return dir
}

func pool(t *testing.T, path string) *x509.CertPool {
	pem, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", path)
	}
	return p
}

// TestTLS covers https:// URLs: a private CA, a client certificate for a
// server that requires one, and the refusals.
func TestTLS(t *testing.T) {
	certs := makeCerts(t)
	tlsEnv := []string{"LARDER_TLS_CERT=" + filepath.Join(certs, "server.crt"), "LARDER_TLS_KEY=" + filepath.Join(certs, "server.key")}
	url := strings.Replace(startLarder(t, "memory", tlsEnv...), "http://", "https://", 1)
	mtlsURL := strings.Replace(startLarder(t, "memory", append(tlsEnv, "LARDER_TLS_CLIENT_CA="+filepath.Join(certs, "ca.crt"))...), "http://", "https://", 1)
	ctx := context.Background()
	roots := pool(t, filepath.Join(certs, "ca.crt"))

	t.Run("private CA", func(t *testing.T) {
		c, err := larder.NewClient(url, larder.WithNamespace(freshNamespace()), larder.WithTLSConfig(&tls.Config{RootCAs: roots}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Set(ctx, "k", map[string]string{"over": "tls"}, larder.WithTTL(time.Minute)); err != nil {
			t.Fatal(err)
		}
		var out map[string]string
		if found, err := c.Get(ctx, "k", &out); err != nil || !found || out["over"] != "tls" {
			t.Fatalf("got %v %v %v", out, found, err)
		}
	})

	t.Run("another CA is refused", func(t *testing.T) {
		c, err := larder.NewClient(url, larder.WithRetries(0), larder.WithTimeout(3*time.Second),
			larder.WithTLSConfig(&tls.Config{RootCAs: pool(t, filepath.Join(certs, "other-ca.crt"))}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Has(ctx, "k"); larder.ErrorCode(err) != codes.Unavailable {
			t.Fatalf("want UNAVAILABLE, got %v", err)
		}
	})

	t.Run("mTLS", func(t *testing.T) {
		pair, err := tls.LoadX509KeyPair(filepath.Join(certs, "client.crt"), filepath.Join(certs, "client.key"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := larder.NewClient(mtlsURL, larder.WithNamespace(freshNamespace()),
			larder.WithTLSConfig(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Set(ctx, "m", true, larder.WithTTL(time.Minute)); err != nil {
			t.Fatal(err)
		}
		without, err := larder.NewClient(mtlsURL, larder.WithRetries(0), larder.WithTimeout(3*time.Second),
			larder.WithTLSConfig(&tls.Config{RootCAs: roots}))
		if err != nil {
			t.Fatal(err)
		}
		defer without.Close()
		if _, err := without.Has(ctx, "m"); larder.ErrorCode(err) != codes.Unavailable {
			t.Fatalf("without a client certificate: want UNAVAILABLE, got %v", err)
		}
	})

	t.Run("a TLS config needs https://", func(t *testing.T) {
		_, err := larder.NewClient("http://127.0.0.1:1", larder.WithTLSConfig(&tls.Config{}))
		if larder.ErrorCode(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "tls: needs an https:// URL") {
			t.Fatalf("got %v", err)
		}
	})
}
