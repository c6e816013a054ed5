package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// LLMConfig is the configuration of one LLM object (a role such as "coder"
// or "planner").
type LLMConfig struct {
	Name, Role  string
	BaseURL     string // e.g. http://127.0.0.1:11434/v1
	Model       string
	Temperature float32
	MaxTokens   int
	// ContextLength is the model's context in tokens. A prompt whose
	// estimate (characters/4) is longer is refused before anything is sent.
	// 0 means no limit is checked.
	ContextLength int
	// KeyEnv is the NAME of the environment variable holding the API key,
	// never the key itself; "" means no key is sent. The variable is read at
	// every request.
	KeyEnv string
	// Timeout bounds one request (one attempt, streaming included).
	// 0 means 60 s.
	Timeout time.Duration
	// Retries is how often a request is retried after a 5xx, a 429, a
	// timeout or a transport error, with exponential backoff (base 200 ms,
	// doubling, plus jitter) or the server's Retry-After. 0 means 2; a
	// negative number means no retries.
	Retries int
	// Concurrency is the number of requests this object has in flight at
	// most; further callers queue, giving up when their context ends.
	// 0 means 1.
	Concurrency int
}

// Defaults applied by NewLLMClient to zero fields.
const (
	DefaultLLMTimeout     = 60 * time.Second
	DefaultLLMRetries     = 2
	DefaultLLMConcurrency = 1

	llmBackoffBase  = 200 * time.Millisecond
	llmMaxRetryWait = 60 * time.Second // a longer Retry-After is cut to this
	llmDetailMax    = 512              // bytes of a server's error body kept in an error
)

// ConfigFromEnv builds the default LLM object's configuration from
// OPENAI_BASE_URL (default https://api.openai.com/v1 when only the model is
// set), PHOENIX_MODEL and the key variable OPENAI_API_KEY. ok is false when
// neither OPENAI_BASE_URL nor PHOENIX_MODEL is set.
func ConfigFromEnv() (LLMConfig, bool) {
	base := strings.TrimSpace(os.Getenv("OPENAI_BASE_URL"))
	model := strings.TrimSpace(os.Getenv("PHOENIX_MODEL"))
	if base == "" && model == "" {
		return LLMConfig{}, false
	}
	if base == "" {
		base = "https://api.openai.com/v1"
	}
	return LLMConfig{
		Name:    "default",
		BaseURL: base,
		Model:   model,
		KeyEnv:  "OPENAI_API_KEY",
	}, true
}

// LLMError is the error of a failed Chat. Its message names the LLM object,
// the model and the base URL; it never contains the API key.
type LLMError struct {
	// Kind is one of "unreachable", "timeout", "http", "malformed",
	// "refused", "context-too-long", "no-config", or "canceled" (the
	// caller's context was canceled).
	Kind     string
	Status   int // HTTP status for Kind "http", else 0
	Model    string
	BaseURL  string // with any user information and query removed
	Name     string // the LLM object's name
	Attempts int    // requests sent (0 when refused before sending)
	Err      error  // the underlying error, if any
	detail   string // what went wrong, key removed
}

func (e *LLMError) Error() string {
	var b strings.Builder
	b.WriteString("llm")
	if e.Name != "" {
		b.WriteString(" " + strconv.Quote(e.Name))
	}
	fmt.Fprintf(&b, " (model %q at %s): %s", e.Model, e.BaseURL, e.Kind)
	if e.Status != 0 {
		fmt.Fprintf(&b, " %d", e.Status)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.detail != "" {
		b.WriteString(": " + e.detail)
	}
	return b.String()
}

func (e *LLMError) Unwrap() error { return e.Err }

// retryable reports whether another attempt may succeed.
func (e *LLMError) retryable() bool {
	switch e.Kind {
	case "unreachable", "timeout":
		return true
	case "http":
		return e.Status == http.StatusTooManyRequests || e.Status >= 500
	}
	return false
}

// ChatRequest is one chat completion request. With Stream set, the answer is
// streamed and OnDelta (if not nil) is called with every piece of content as
// it arrives, on the caller's goroutine; without Stream, OnDelta is not
// called.
type ChatRequest struct {
	Messages []openai.ChatCompletionMessage
	Tools    []openai.Tool
	Stream   bool
	OnDelta  func(text string)
}

// ChatResponse is the assistant's answer. Streamed tool calls are
// reassembled, so ToolCalls look the same either way.
type ChatResponse struct {
	Content      string
	ToolCalls    []openai.ToolCall
	FinishReason string
	Usage        openai.Usage
	Attempts     int           // requests sent, retries included
	Latency      time.Duration // from the call of Chat to its return
}

// TokenUsage is an LLM object's cumulative use.
type TokenUsage struct {
	Requests         int64 // calls of Chat
	Attempts         int64 // HTTP requests sent, retries included
	PromptTokens     int64 // as reported by the server
	CompletionTokens int64
	Failures         int64 // calls of Chat that returned an error
}

// LLMClient talks to one OpenAI-compatible chat completions endpoint for
// one LLM object. It is safe for concurrent use.
type LLMClient struct {
	cfg     LLMConfig
	log     *slog.Logger
	api     *openai.Client
	slots   chan struct{}
	baseURL string // for messages and logs

	mu    sync.Mutex
	usage TokenUsage
}

// NewLLMClient makes a client for cfg, filling in the defaults. log may be
// nil. A configuration without a base URL or model gives a client whose
// every Chat fails with Kind "no-config".
func NewLLMClient(cfg LLMConfig, log *slog.Logger) *LLMClient {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultLLMTimeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultLLMRetries
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultLLMConcurrency
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The key is not given to go-openai: llmKeyDoer adds it to each request
	// from the environment, so no struct holds it.
	oc := openai.DefaultConfig("")
	oc.BaseURL = cfg.BaseURL
	oc.HTTPClient = &llmKeyDoer{
		keyEnv: cfg.KeyEnv,
		hc:     &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	return &LLMClient{
		cfg:     cfg,
		log:     log,
		api:     openai.NewClientWithConfig(oc),
		slots:   make(chan struct{}, cfg.Concurrency),
		baseURL: redactURL(cfg.BaseURL),
	}
}

// Config returns the configuration in use, defaults filled in.
func (c *LLMClient) Config() LLMConfig { return c.cfg }

// Usage returns the cumulative use so far.
func (c *LLMClient) Usage() TokenUsage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.usage
}

// Chat sends one chat completion request, retrying as configured, and
// returns the first choice. A streamed answer is retried only if the failure
// came before any content was handed to OnDelta.
func (c *LLMClient) Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	start := time.Now()
	c.mu.Lock()
	c.usage.Requests++
	c.mu.Unlock()

	resp, err := c.chat(ctx, req, start)
	if err != nil {
		c.mu.Lock()
		c.usage.Failures++
		c.mu.Unlock()
		return nil, err
	}
	return resp, nil
}

func (c *LLMClient) chat(ctx context.Context, req ChatRequest, start time.Time) (*ChatResponse, error) {
	if c.cfg.BaseURL == "" || c.cfg.Model == "" {
		missing := "a base URL"
		if c.cfg.BaseURL != "" {
			missing = "a model"
		} else if c.cfg.Model == "" {
			missing = "a base URL and a model"
		}
		return nil, c.newError("no-config", 0, 0, nil,
			"the LLM object has no "+missing+" (set OPENAI_BASE_URL and PHOENIX_MODEL, or configure the object)")
	}
	if c.cfg.ContextLength > 0 {
		if est := EstimatePromptTokens(req); est > c.cfg.ContextLength {
			return nil, c.newError("context-too-long", 0, 0, nil, fmt.Sprintf(
				"the prompt is about %d tokens, longer than the model's context of %d tokens; nothing was sent",
				est, c.cfg.ContextLength))
		}
	}
	oreq, err := c.buildRequest(req)
	if err != nil {
		return nil, c.newError("no-config", 0, 0, err, err.Error())
	}

	var lastErr *LLMError
	var wait time.Duration
	for attempt := 1; attempt <= c.cfg.Retries+1; attempt++ {
		if attempt > 1 {
			if wait <= 0 {
				wait = llmBackoff(attempt - 1)
			}
			if err := sleepCtx(ctx, wait); err != nil {
				lastErr = c.ctxError(ctx, attempt-1, err)
				break
			}
		}
		if err := c.acquire(ctx); err != nil {
			lastErr = c.ctxError(ctx, attempt-1, err)
			break
		}
		resp, lerr, retryAfter, delivered := func() (*ChatResponse, *LLMError, time.Duration, bool) {
			defer func() { <-c.slots }() // released even if OnDelta panics
			return c.attempt(ctx, oreq, req, attempt)
		}()
		if lerr == nil {
			resp.Attempts = attempt
			resp.Latency = time.Since(start)
			return resp, nil
		}
		lastErr = lerr
		if !lerr.retryable() || delivered || ctx.Err() != nil {
			break
		}
		wait = retryAfter
	}
	return nil, lastErr
}

func (c *LLMClient) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err // select would pick a free slot at random
	}
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// buildRequest makes the go-openai request. For reasoning models that reject
// max_tokens and temperature (as go-openai's validator knows them), the
// limit is sent as max_completion_tokens and the temperature left out.
func (c *LLMClient) buildRequest(req ChatRequest) (openai.ChatCompletionRequest, error) {
	oreq := openai.ChatCompletionRequest{
		Model:       c.cfg.Model,
		Messages:    req.Messages,
		Tools:       req.Tools,
		Temperature: c.cfg.Temperature,
		MaxTokens:   c.cfg.MaxTokens,
		Stream:      req.Stream,
	}
	if req.Stream {
		oreq.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	v := openai.NewReasoningValidator()
	if v.Validate(oreq) == nil {
		return oreq, nil
	}
	oreq.MaxCompletionTokens, oreq.MaxTokens = oreq.MaxTokens, 0
	oreq.Temperature = 0
	if err := v.Validate(oreq); err != nil {
		return oreq, fmt.Errorf("the request does not suit the model: %w", err)
	}
	return oreq, nil
}

// llmAttemptInfo is filled by llmKeyDoer for one attempt.
type llmAttemptInfo struct {
	mu     sync.Mutex
	sent   bool // the HTTP round trip returned a response
	status int
	header http.Header
}

type llmAttemptKey struct{}

// llmKeyDoer sets the Authorization header from the environment at request
// time and records the response's status and headers (go-openai's errors do
// not carry Retry-After).
type llmKeyDoer struct {
	keyEnv string
	hc     *http.Client
}

func (d *llmKeyDoer) Do(r *http.Request) (*http.Response, error) {
	r.Header.Del("Authorization")
	if d.keyEnv != "" {
		if key := os.Getenv(d.keyEnv); key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
		}
	}
	resp, err := d.hc.Do(r)
	if info, ok := r.Context().Value(llmAttemptKey{}).(*llmAttemptInfo); ok && resp != nil {
		info.mu.Lock()
		info.sent = true
		info.status = resp.StatusCode
		info.header = resp.Header.Clone()
		info.mu.Unlock()
	}
	return resp, err
}

// attempt sends one request. delivered reports whether OnDelta was called,
// after which a retry would repeat text the caller has already seen.
func (c *LLMClient) attempt(ctx context.Context, oreq openai.ChatCompletionRequest, req ChatRequest, n int) (resp *ChatResponse, lerr *LLMError, retryAfter time.Duration, delivered bool) {
	c.mu.Lock()
	c.usage.Attempts++
	c.mu.Unlock()

	info := &llmAttemptInfo{}
	actx, cancel := context.WithTimeout(context.WithValue(ctx, llmAttemptKey{}, info), c.cfg.Timeout)
	defer cancel()
	t0 := time.Now()

	var err error
	if oreq.Stream {
		resp, delivered, err = c.streamOnce(actx, oreq, req.OnDelta)
	} else {
		resp, err = c.completeOnce(actx, oreq)
	}
	latency := time.Since(t0)
	if resp != nil {
		c.mu.Lock()
		c.usage.PromptTokens += int64(resp.Usage.PromptTokens)
		c.usage.CompletionTokens += int64(resp.Usage.CompletionTokens)
		c.mu.Unlock()
	}
	if err != nil {
		lerr = c.classify(ctx, actx, info, err, n)
		resp = nil
		info.mu.Lock()
		if lerr.Kind == "http" {
			retryAfter = parseRetryAfter(info.header.Get("Retry-After"), time.Now())
		}
		info.mu.Unlock()
	}
	attrs := []any{
		"llm", c.cfg.Name, "model", c.cfg.Model, "attempt", n, "stream", oreq.Stream,
		"latency", latency,
	}
	if resp != nil {
		attrs = append(attrs, "outcome", "ok", "finish", resp.FinishReason,
			"prompt_tokens", resp.Usage.PromptTokens, "completion_tokens", resp.Usage.CompletionTokens)
	} else {
		// Only the kind and status: a server's error text may quote the prompt.
		attrs = append(attrs, "outcome", lerr.Kind, "status", lerr.Status)
	}
	c.log.Debug("llm request", attrs...)
	return resp, lerr, retryAfter, delivered
}

// llmRefusal is the error of an answer that was a refusal.
type llmRefusal struct{ text string }

func (r *llmRefusal) Error() string {
	if r.text == "" {
		return "the model refused to answer (content filter)"
	}
	return "the model refused to answer: " + r.text
}

// llmMalformed is the error of an answer that decoded but makes no sense.
type llmMalformed struct{ what string }

func (m *llmMalformed) Error() string { return "malformed answer: " + m.what }

func (c *LLMClient) completeOnce(ctx context.Context, oreq openai.ChatCompletionRequest) (*ChatResponse, error) {
	out, err := c.api.CreateChatCompletion(ctx, oreq)
	if err != nil {
		return nil, err
	}
	resp := &ChatResponse{Usage: out.Usage}
	if len(out.Choices) == 0 {
		if len(out.PromptFilterResults) > 0 {
			return resp, &llmRefusal{text: "the prompt was filtered"}
		}
		return resp, &llmMalformed{what: "no choices"}
	}
	ch := out.Choices[0]
	resp.Content = ch.Message.Content
	resp.ToolCalls = ch.Message.ToolCalls
	resp.FinishReason = string(ch.FinishReason)
	if ch.FinishReason == openai.FinishReasonContentFilter || ch.Message.Refusal != "" {
		return resp, &llmRefusal{text: ch.Message.Refusal}
	}
	return resp, nil
}

func (c *LLMClient) streamOnce(ctx context.Context, oreq openai.ChatCompletionRequest, onDelta func(string)) (*ChatResponse, bool, error) {
	stream, err := c.api.CreateChatCompletionStream(ctx, oreq)
	if err != nil {
		return nil, false, err
	}
	defer stream.Close()

	resp := &ChatResponse{}
	var content, refusal strings.Builder
	var calls []openai.ToolCall
	delivered := false
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, delivered, err
		}
		if chunk.Usage != nil {
			resp.Usage = *chunk.Usage
		}
		if len(chunk.Choices) == 0 {
			continue
		}
		ch := chunk.Choices[0]
		if ch.FinishReason != "" {
			resp.FinishReason = string(ch.FinishReason)
		}
		d := ch.Delta
		if d.Content != "" {
			content.WriteString(d.Content)
			if onDelta != nil {
				delivered = true
				onDelta(d.Content)
			}
		}
		refusal.WriteString(d.Refusal)
		for pos, tc := range d.ToolCalls {
			i := pos
			if tc.Index != nil {
				i = *tc.Index
			}
			if i < 0 || i > len(calls)+64 {
				return nil, delivered, &llmMalformed{what: fmt.Sprintf("tool call index %d in a stream", i)}
			}
			for len(calls) <= i {
				calls = append(calls, openai.ToolCall{})
			}
			if tc.ID != "" {
				calls[i].ID = tc.ID
			}
			if tc.Type != "" {
				calls[i].Type = tc.Type
			}
			calls[i].Function.Name += tc.Function.Name
			calls[i].Function.Arguments += tc.Function.Arguments
		}
	}
	resp.Content = content.String()
	for _, tc := range calls {
		if tc.Type == "" {
			tc.Type = openai.ToolTypeFunction
		}
		resp.ToolCalls = append(resp.ToolCalls, tc)
	}
	if resp.FinishReason == string(openai.FinishReasonContentFilter) || refusal.Len() > 0 {
		return resp, delivered, &llmRefusal{text: refusal.String()}
	}
	return resp, delivered, nil
}

// classify turns an attempt's error into an LLMError.
func (c *LLMClient) classify(ctx, actx context.Context, info *llmAttemptInfo, err error, attempt int) *LLMError {
	var refusal *llmRefusal
	var malformed *llmMalformed
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &refusal):
		return c.newError("refused", 0, attempt, err, refusal.Error())
	case errors.As(err, &malformed):
		return c.newError("malformed", 0, attempt, err, malformed.Error())
	case errors.As(err, &apiErr) && apiErr.HTTPStatusCode != 0:
		return c.newError("http", apiErr.HTTPStatusCode, attempt, err, "server said: "+apiErr.Message)
	case errors.As(err, &apiErr):
		// An error event inside a stream.
		info.mu.Lock()
		status := info.status
		info.mu.Unlock()
		return c.newError("http", status, attempt, err, "server sent an error in the stream: "+apiErr.Message)
	case errors.As(err, &reqErr):
		body := strings.TrimSpace(string(reqErr.Body))
		if body == "" {
			body = "(empty body)"
		}
		return c.newError("http", reqErr.HTTPStatusCode, attempt, err, "server said: "+body)
	case ctx.Err() != nil:
		return c.ctxError(ctx, attempt, err)
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		return c.newError("timeout", 0, attempt, err, fmt.Sprintf("no answer within %s", c.cfg.Timeout))
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr),
		errors.Is(err, openai.ErrTooManyEmptyStreamMessages):
		return c.newError("malformed", 0, attempt, err, "the answer is not valid JSON: "+err.Error())
	}
	info.mu.Lock()
	sent := info.sent
	info.mu.Unlock()
	if sent {
		return c.newError("unreachable", 0, attempt, err, "the connection failed while reading the answer: "+err.Error())
	}
	return c.newError("unreachable", 0, attempt, err, "cannot reach the server: "+err.Error())
}

// ctxError is the error for the caller's context ending.
func (c *LLMClient) ctxError(ctx context.Context, attempts int, err error) *LLMError {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return c.newError("timeout", 0, attempts, err, "the caller's deadline passed")
	}
	return c.newError("canceled", 0, attempts, err, "the caller canceled the request")
}

// newError builds an LLMError whose text cannot contain the API key: the
// key (read now from the environment) is cut out of the detail, and an
// underlying error whose own text contains it is replaced by a redacted one.
func (c *LLMClient) newError(kind string, status, attempts int, err error, detail string) *LLMError {
	key := ""
	if c.cfg.KeyEnv != "" {
		key = os.Getenv(c.cfg.KeyEnv)
	}
	detail = redactKey(detail, key)
	if len(detail) > llmDetailMax {
		detail = detail[:llmDetailMax] + "…"
	}
	if err != nil && key != "" && strings.Contains(err.Error(), key) {
		err = errors.New(redactKey(err.Error(), key))
	}
	return &LLMError{
		Kind: kind, Status: status, Model: c.cfg.Model, BaseURL: c.baseURL, Name: c.cfg.Name,
		Attempts: attempts, Err: err, detail: detail,
	}
}

func redactKey(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "[REDACTED]")
}

// redactURL drops user information and the query from a URL for display.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable base URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// EstimatePromptTokens estimates a request's prompt size as a quarter of
// the characters of its messages (content, parts, names, tool calls) and of
// its tool definitions as JSON, rounded up.
func EstimatePromptTokens(req ChatRequest) int {
	n := 0
	for _, m := range req.Messages {
		n += len(m.Role) + len(m.Content) + len(m.Refusal) + len(m.Name) + len(m.ToolCallID)
		for _, p := range m.MultiContent {
			n += len(p.Text)
		}
		for _, tc := range m.ToolCalls {
			n += len(tc.Function.Name) + len(tc.Function.Arguments)
		}
		if m.FunctionCall != nil {
			n += len(m.FunctionCall.Name) + len(m.FunctionCall.Arguments)
		}
	}
	if len(req.Tools) > 0 {
		if b, err := json.Marshal(req.Tools); err == nil {
			n += len(b)
		}
	}
	return (n + 3) / 4
}

// llmBackoff is the wait before retry n (1-based): base·2^(n-1) plus up to
// half of that again at random.
func llmBackoff(n int) time.Duration {
	d := llmBackoffBase << (n - 1)
	if d <= 0 || d > llmMaxRetryWait {
		d = llmMaxRetryWait
	}
	return d + rand.N(d/2+1)
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
// It returns 0 when absent or unreadable, and at most llmMaxRetryWait.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, llmMaxRetryWait)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
