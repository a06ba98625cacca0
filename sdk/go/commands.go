package larder

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"

	larderv1 "github.com/larder/larder/sdk/go/gen/larder/v1"
	"google.golang.org/grpc/codes"
)

// ServedFrom tells how a RunCommand response was served.
type ServedFrom string

const (
	// ServedLive is a response fetched from the upstream for this call (or
	// for a concurrent identical one).
	ServedLive ServedFrom = "live"
	// ServedCached is a stored response younger than the command's cacheSeconds.
	ServedCached ServedFrom = "cached"
	// ServedFallback is a stored response standing in for a failing upstream.
	ServedFallback ServedFrom = "fallback"
)

// CommandResult is the answer of RunCommand: the upstream's response, live
// or stored.
type CommandResult struct {
	// Status is the upstream's HTTP status (the stored one in fallback).
	Status int
	// Header holds the response headers.
	Header http.Header
	// Body is the response body.
	Body []byte
	// ServedFrom is how the response was served.
	ServedFrom ServedFrom
	// Fallback is true when a stored response stands in for a failing upstream.
	Fallback bool
	// Age is the response's age; 0 when live.
	Age time.Duration
	// URL is the upstream URL, without secrets.
	URL string
}

// The media types IsJSON accepts: application/json and every +json type.
var jsonType = regexp.MustCompile(`(?i)[/+]json\b`)

// OK reports whether the status is 2xx or 3xx, which the server caches.
func (r *CommandResult) OK() bool { return r.Status >= 200 && r.Status < 400 }

// Text is the body as a string.
func (r *CommandResult) Text() string { return string(r.Body) }

// IsJSON reports whether the content type is JSON.
func (r *CommandResult) IsJSON() bool { return jsonType.MatchString(r.Header.Get("Content-Type")) }

// JSON decodes the body into out (a pointer, as for json.Unmarshal),
// whatever the content type says. A body that is not JSON, e.g. an HTML
// error page, is a FailedPrecondition *Error.
func (r *CommandResult) JSON(out any) error {
	if !json.Valid(r.Body) {
		kind := r.Header.Get("Content-Type")
		if kind == "" {
			kind = "no content-type"
		}
		return &Error{Code: codes.FailedPrecondition, Message: fmt.Sprintf("body: the response (%s) is not JSON", kind)}
	}
	if err := json.Unmarshal(r.Body, out); err != nil {
		return invalidArgument("out", "cannot hold the response body: "+err.Error())
	}
	return nil
}

// CommandOption configures RunCommand.
type CommandOption func(*commandConfig)

type commandConfig struct {
	args    map[string]string
	headers map[string]string
	body    any
	hasBody bool
}

// WithArgs sets values for the command's URL placeholders.
func WithArgs(args map[string]string) CommandOption {
	return func(c *commandConfig) {
		for k, v := range args {
			c.args[k] = v
		}
	}
}

// WithArg sets the value of one URL placeholder.
func WithArg(name, value string) CommandOption {
	return func(c *commandConfig) { c.args[name] = value }
}

// WithHeader sends a caller header; the server passes on only those the
// command allows.
func WithHeader(name, value string) CommandOption {
	return func(c *commandConfig) { c.headers[name] = value }
}

// WithBody sets the request body: a string is sent as text, a []byte as
// binary, anything else as JSON.
func WithBody(body any) CommandOption {
	return func(c *commandConfig) { c.body, c.hasBody = body, true }
}

// RunCommand runs a command defined in the server's configuration, with its
// response caching and cache fallback. Not retried: a command may not be
// safe to repeat. An undefined command is a NotFound *Error; an upstream
// that fails with nothing stored is Unavailable or DeadlineExceeded, while
// an upstream 4xx/5xx with nothing stored is returned as a result.
func (c *Client) RunCommand(ctx context.Context, name string, opts ...CommandOption) (*CommandResult, error) {
	cfg := commandConfig{args: map[string]string{}, headers: map[string]string{}}
	for _, o := range opts {
		o(&cfg)
	}
	req := &larderv1.RunCommandRequest{Name: name, Args: cfg.args, Headers: cfg.headers}
	if cfg.hasBody {
		switch b := cfg.body.(type) {
		case []byte:
			req.Body = &larderv1.Body{Kind: &larderv1.Body_Binary{Binary: b}}
		case string:
			req.Body = &larderv1.Body{Kind: &larderv1.Body_Text{Text: b}}
		default:
			text, err := json.Marshal(b)
			if err != nil {
				return nil, invalidArgument("body", "cannot be serialized as JSON: "+err.Error())
			}
			req.Body = &larderv1.Body{Kind: &larderv1.Body_Text{Text: string(text)}}
		}
	}
	res, err := invoke(ctx, c, false, 0, func(ctx context.Context) (*larderv1.RunCommandResponse, error) {
		return c.rpc.RunCommand(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	out := &CommandResult{Status: int(res.GetStatus()), Header: http.Header{}, Fallback: res.GetCacheFallback(),
		Age: time.Duration(res.GetAgeMs()) * time.Millisecond, URL: res.GetUrl(), ServedFrom: ServedLive}
	for _, h := range res.GetHeaders() {
		out.Header.Add(h.GetName(), h.GetValue())
	}
	switch b := res.GetBody().GetKind().(type) {
	case *larderv1.Body_Text:
		out.Body = []byte(b.Text)
	case *larderv1.Body_Binary:
		out.Body = b.Binary
	}
	switch res.GetServedFrom() {
	case larderv1.ServedFrom_SERVED_FROM_CACHED:
		out.ServedFrom = ServedCached
	case larderv1.ServedFrom_SERVED_FROM_FALLBACK:
		out.ServedFrom = ServedFallback
	}
	return out, nil
}

// CommandEventKind is what happened to a command's fallback mode.
type CommandEventKind string

const (
	// FallbackActivated: a failing upstream turned fallback mode on.
	FallbackActivated CommandEventKind = "activated"
	// FallbackDeactivated: a live success turned fallback mode off.
	FallbackDeactivated CommandEventKind = "deactivated"
)

// CommandEvent is one fallback change of a command.
type CommandEvent struct {
	// Time is when it happened.
	Time time.Time
	// Command is the command's name.
	Command string
	// UpstreamStatus is the upstream status that caused it; 0 for a timeout
	// or a connection failure.
	UpstreamStatus int
	// Kind is what happened.
	Kind CommandEventKind
	// Level is the log level, "info".
	Level string
}

// CommandEvents lists the namespace's fallback activations and
// deactivations of the last 24 h, newest first: only command's when it is
// not "", at most limit (0: the server's default, 100; at most 1000).
func (c *Client) CommandEvents(ctx context.Context, command string, limit int) ([]CommandEvent, error) {
	if limit < 0 || limit > batch {
		return nil, invalidArgument("limit", fmt.Sprintf("must be from 1 to %d (0: the server's default), got %d", batch, limit))
	}
	req := &larderv1.ListCommandEventsRequest{Command: command, Limit: int32(limit)}
	res, err := invoke(ctx, c, true, 0, func(ctx context.Context) (*larderv1.ListCommandEventsResponse, error) {
		return c.rpc.ListCommandEvents(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	events := make([]CommandEvent, 0, len(res.GetEvents()))
	for _, e := range res.GetEvents() {
		kind := FallbackActivated
		if e.GetKind() == larderv1.CommandEventKind_COMMAND_EVENT_KIND_FALLBACK_DEACTIVATED {
			kind = FallbackDeactivated
		}
		events = append(events, CommandEvent{Time: e.GetTime().AsTime(), Command: e.GetCommand(),
			UpstreamStatus: int(e.GetUpstreamStatus()), Kind: kind, Level: e.GetLevel()})
	}
	return events, nil
}
