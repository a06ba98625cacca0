// Package larder is the Go SDK of Larder, a shared key-value cache for
// function runtimes. A Client talks gRPC to a Larder server:
//
//	c, err := larder.NewClient("http://127.0.0.1:8080", larder.WithNamespace("my-function"))
//	if err != nil { ... }
//	defer c.Close()
//	_, err = c.Set(ctx, "user:123", Profile{Name: "Alice"}, larder.WithTTL(time.Hour))
//	var p Profile
//	found, err := c.Get(ctx, "user:123", &p)
//
// Values are encoded with encoding/json; a []byte is stored as opaque binary.
// Every call takes a context and gets a deadline of its own (WithTimeout,
// default 5 s); only calls that are safe to repeat are retried on
// UNAVAILABLE. Failures are *Error values carrying the gRPC status code.
package larder

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	larderv1 "github.com/larder/larder/sdk/go/gen/larder/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Client is a Larder cache bound to one server and one namespace. It is safe
// for concurrent use; create one and share it.
type Client struct {
	conn    *grpc.ClientConn
	rpc     larderv1.CacheServiceClient
	cfg     config
	owner   string
	flights flights
}

type config struct {
	apiKey         string
	namespace      string
	timeout        time.Duration
	retries        int
	computeLockTTL time.Duration
	tlsConfig      *tls.Config
}

// Option configures NewClient.
type Option func(*config)

// WithAPIKey sends the API key with every call (authorization: Bearer); with
// API keys on, the key decides the namespace.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithNamespace picks the namespace when the server runs without API keys.
func WithNamespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// WithTimeout sets each call's deadline (default 5 s); a deadline of the
// caller's context, if earlier, wins.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithTLSConfig sets the TLS configuration of an https:// URL: RootCAs for
// a private CA, Certificates for a client certificate (mTLS). Default: the
// system roots, TLS 1.2 or later, no client certificate. The config is
// cloned, so the caller may keep changing theirs.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *config) { c.tlsConfig = cfg }
}

// WithRetries sets how often a call that is safe to repeat is retried on
// UNAVAILABLE (default 3).
func WithRetries(n int) Option { return func(c *config) { c.retries = n } }

// NewClient connects to a Larder server at url ("http://host:port", or
// "https://..." for TLS). The connection is made lazily, so an unreachable
// server shows up as UNAVAILABLE on the first call.
func NewClient(rawURL string, opts ...Option) (*Client, error) {
	cfg := config{timeout: 5 * time.Second, retries: 3, computeLockTTL: computeLockTTL}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.computeLockTTL <= 0 {
		return nil, invalidArgument("computeLockTTL", fmt.Sprintf("must be positive, got %s", cfg.computeLockTTL))
	}
	target, useTLS, err := targetOf(rawURL)
	if err != nil {
		return nil, err
	}
	if cfg.tlsConfig != nil && !useTLS {
		return nil, invalidArgument("tls", fmt.Sprintf("needs an https:// URL, got %q", rawURL))
	}
	// WithInsecure rather than credentials/insecure: the latter is missing
	// from the gRPC release that Debian packages.
	creds := grpc.WithInsecure()
	if useTLS {
		tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.tlsConfig != nil {
			tlsConfig = cfg.tlsConfig.Clone()
		}
		creds = grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig))
	}
	conn, err := grpc.Dial(target, creds)
	if err != nil {
		return nil, &Error{Code: codes.Unavailable, Message: err.Error()}
	}
	host, _ := os.Hostname()
	return &Client{conn: conn, rpc: larderv1.NewCacheServiceClient(conn), cfg: cfg,
		owner: fmt.Sprintf("%s:%d", host, os.Getpid())}, nil
}

// Close releases the connection; later calls fail.
func (c *Client) Close() error { return c.conn.Close() }

func targetOf(rawURL string) (string, bool, error) {
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", false, invalidArgument("url", fmt.Sprintf("must be http://host:port or https://host:port, got %q", rawURL))
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port, u.Scheme == "https", nil
}

// Error is every failure of the SDK: the server's status, or a local refusal
// worded like the server's ("field: problem").
type Error struct {
	// Code is the gRPC status code, e.g. codes.InvalidArgument.
	Code codes.Code
	// Message is the server's message, which names the field and the limit.
	Message string
	// Holder is who held the lock, for a Lock that was not acquired.
	Holder *LockHolder
}

func (e *Error) Error() string { return CodeName(e.Code) + ": " + e.Message }

var codeNames = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// CodeName is a code's canonical gRPC name, e.g. "INVALID_ARGUMENT", as
// grpcurl, the server logs and the other Larder SDKs spell it.
func CodeName(code codes.Code) string {
	if int(code) < len(codeNames) {
		return codeNames[code]
	}
	return fmt.Sprintf("CODE_%d", code)
}

// ErrorCode is the status code of any error a Client returned; codes.OK for
// nil and codes.Unknown for errors that did not come from the SDK.
func ErrorCode(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if e, ok := err.(*Error); ok {
		return e.Code
	}
	return codes.Unknown
}

func invalidArgument(field, problem string) *Error {
	return &Error{Code: codes.InvalidArgument, Message: field + ": " + problem}
}

func toError(err error) error {
	if s, ok := status.FromError(err); ok {
		return &Error{Code: s.Code(), Message: s.Message()}
	}
	if ce := status.FromContextError(err); ce != nil {
		return &Error{Code: ce.Code(), Message: ce.Message()}
	}
	return &Error{Code: codes.Unknown, Message: err.Error()}
}

// invoke runs one RPC with the client's headers and deadline (plus extra,
// for calls that wait on the server), retrying on UNAVAILABLE only when the
// call is idempotent: a repeated Increment would count twice.
func invoke[T any](ctx context.Context, c *Client, idempotent bool, extra time.Duration,
	call func(context.Context) (T, error)) (T, error) {
	if c.cfg.namespace != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "larder-namespace", c.cfg.namespace)
	}
	if c.cfg.apiKey != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.cfg.apiKey)
	}
	attempts := 1
	if idempotent {
		attempts += c.cfg.retries
	}
	for attempt := 1; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, c.cfg.timeout+extra)
		res, err := call(callCtx)
		cancel()
		if err == nil {
			return res, nil
		}
		if status.Code(err) != codes.Unavailable || attempt >= attempts {
			var zero T
			return zero, toError(err)
		}
		select {
		case <-time.After(backoff(attempt)):
		case <-ctx.Done():
			var zero T
			return zero, toError(ctx.Err())
		}
	}
}

// backoff is exponential with equal jitter, so that many instances that lost
// the server at once do not come back in lockstep.
func backoff(retry int) time.Duration {
	nominal := 50 * time.Millisecond << (retry - 1)
	if nominal > 2*time.Second || nominal <= 0 {
		nominal = 2 * time.Second
	}
	return nominal/2 + time.Duration(rand.Int63n(int64(nominal/2)+1))
}

// flights is the in-process single flight of GetOrSet.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done  chan struct{}
	value *larderv1.Value
	err   error
}

// do runs fn once for concurrent callers of the same key.
func (f *flights) do(key string, fn func() (*larderv1.Value, error)) (*larderv1.Value, error) {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]*flight{}
	}
	if fl, ok := f.m[key]; ok {
		f.mu.Unlock()
		<-fl.done
		return fl.value, fl.err
	}
	fl := &flight{done: make(chan struct{})}
	f.m[key] = fl
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.m, key)
		f.mu.Unlock()
		close(fl.done)
	}()
	fl.value, fl.err = fn()
	return fl.value, fl.err
}
