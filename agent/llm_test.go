package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/phoenix-image/phoenix/agent/llmtest"
)

// testKey is distinctive so that a leak is found by a plain substring search.
const testKey = "sk-phoenix-SECRET-7f3a9c1e5b"

const testKeyEnv = "PHOENIX_LLM_TEST_KEY"

func testClient(t *testing.T, srv *llmtest.Server, mod func(*LLMConfig)) *LLMClient {
	t.Helper()
	cfg := LLMConfig{
		Name:    "coder",
		Role:    "coder",
		BaseURL: srv.URL(),
		Model:   "fake-coder",
		Timeout: 5 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	return NewLLMClient(cfg, nil)
}

func userMsg(text string) []openai.ChatCompletionMessage {
	return []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: text}}
}

func asLLMError(t *testing.T, err error, kind string) *LLMError {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want LLMError %q", kind)
	}
	var lerr *LLMError
	if !errors.As(err, &lerr) {
		t.Fatalf("error %T %q is not an *LLMError", err, err)
	}
	if lerr.Kind != kind {
		t.Fatalf("error kind %q, want %q: %v", lerr.Kind, kind, err)
	}
	return lerr
}

func TestLLMChatPlainCompletion(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Reply("function Account:deposit(n) self.balance = self.balance + n end"))
	c := testClient(t, srv, func(cfg *LLMConfig) { cfg.Temperature = 0.25; cfg.MaxTokens = 300 })

	resp, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("write deposit")})
	if err != nil {
		t.Fatal(err)
	}
	if want := "function Account:deposit(n) self.balance = self.balance + n end"; resp.Content != want {
		t.Errorf("content %q, want %q", resp.Content, want)
	}
	if resp.FinishReason != "stop" || resp.Attempts != 1 || len(resp.ToolCalls) != 0 {
		t.Errorf("finish %q attempts %d tool calls %d", resp.FinishReason, resp.Attempts, len(resp.ToolCalls))
	}
	if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 || resp.Latency <= 0 {
		t.Errorf("usage %+v latency %v", resp.Usage, resp.Latency)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	got := reqs[0].Body
	if got.Model != "fake-coder" || got.Temperature != 0.25 || got.MaxTokens != 300 || got.Stream {
		t.Errorf("request model %q temperature %v max_tokens %d stream %v", got.Model, got.Temperature, got.MaxTokens, got.Stream)
	}
	if len(got.Messages) != 1 || got.Messages[0].Content != "write deposit" {
		t.Errorf("request messages %+v", got.Messages)
	}
	if h := reqs[0].Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization %q sent with no KeyEnv", h)
	}
}

func TestLLMChatToolCall(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.ToolCall("define_method", `{"selector":"deposit","source":"function() end"}`))
	c := testClient(t, srv, nil)
	tools := []openai.Tool{{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
		Name: "define_method", Parameters: map[string]any{"type": "object"},
	}}}
	resp, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("define it"), Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.ToolCalls) != 1 {
		t.Fatalf("tool calls %+v", resp.ToolCalls)
	}
	tc := resp.ToolCalls[0]
	if tc.ID == "" || tc.Type != openai.ToolTypeFunction || tc.Function.Name != "define_method" ||
		tc.Function.Arguments != `{"selector":"deposit","source":"function() end"}` {
		t.Errorf("tool call %+v", tc)
	}
	if resp.FinishReason != "tool_calls" {
		t.Errorf("finish %q", resp.FinishReason)
	}
	if got := srv.Requests()[0].Body.Tools; len(got) != 1 || got[0].Function.Name != "define_method" {
		t.Errorf("server got tools %+v", got)
	}
}

func TestLLMChatStreamContentCallsOnDelta(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Stream("function ", "Account:", "greet() ", "end"))
	c := testClient(t, srv, nil)
	var deltas []string
	resp, err := c.Chat(context.Background(), ChatRequest{
		Messages: userMsg("greet"), Stream: true,
		OnDelta: func(s string) { deltas = append(deltas, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"function ", "Account:", "greet() ", "end"}; strings.Join(deltas, "|") != strings.Join(want, "|") {
		t.Errorf("deltas %q, want %q", deltas, want)
	}
	if resp.Content != "function Account:greet() end" || resp.FinishReason != "stop" {
		t.Errorf("content %q finish %q", resp.Content, resp.FinishReason)
	}
	if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 {
		t.Errorf("streamed usage %+v (the client asks for include_usage)", resp.Usage)
	}
	body := srv.Requests()[0].Body
	if !body.Stream || body.StreamOptions == nil || !body.StreamOptions.IncludeUsage {
		t.Errorf("request stream %v options %+v", body.Stream, body.StreamOptions)
	}
}

func TestLLMChatStreamToolCallReassembled(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.StreamToolCall("define_method", `{"sel`, `ector":"de`, `posit"}`))
	c := testClient(t, srv, nil)
	var deltas int
	resp, err := c.Chat(context.Background(), ChatRequest{
		Messages: userMsg("define"), Stream: true, OnDelta: func(string) { deltas++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.ToolCalls) != 1 {
		t.Fatalf("tool calls %+v", resp.ToolCalls)
	}
	tc := resp.ToolCalls[0]
	if tc.Function.Name != "define_method" || tc.Function.Arguments != `{"selector":"deposit"}` || tc.ID == "" ||
		tc.Type != openai.ToolTypeFunction || tc.Index != nil {
		t.Errorf("tool call %+v", tc)
	}
	if resp.FinishReason != "tool_calls" || resp.Content != "" || deltas != 0 {
		t.Errorf("finish %q content %q deltas %d", resp.FinishReason, resp.Content, deltas)
	}
}

func TestLLMChatStreamSeveralToolCalls(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.ToolCalls(
		llmtest.Call{ID: "a", Name: "read", Args: `{"x":1}`},
		llmtest.Call{ID: "b", Name: "write", Args: `{"y":2}`},
	))
	c := testClient(t, srv, nil)
	resp, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("go"), Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.ToolCalls) != 2 || resp.ToolCalls[0].ID != "a" || resp.ToolCalls[0].Function.Arguments != `{"x":1}` ||
		resp.ToolCalls[1].ID != "b" || resp.ToolCalls[1].Function.Name != "write" {
		t.Errorf("tool calls %+v", resp.ToolCalls)
	}
}

func TestLLMChatRetries500ThenSucceeds(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Status(500, "overloaded"), llmtest.Reply("ok"))
	c := testClient(t, srv, nil)
	resp, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content != "ok" || resp.Attempts != 2 {
		t.Errorf("content %q attempts %d, want ok after 2", resp.Content, resp.Attempts)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

func TestLLMChat500Exhausted(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Status(502, "bad gateway"), llmtest.Status(503, "unavailable"),
		llmtest.Status(500, `{"error":{"message":"model crashed","type":"server_error"}}`), llmtest.Reply("too late"))
	c := testClient(t, srv, nil) // default 2 retries: 3 attempts
	_, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")})
	lerr := asLLMError(t, err, "http")
	if lerr.Status != 500 || lerr.Attempts != 3 {
		t.Errorf("status %d attempts %d, want 500 after 3", lerr.Status, lerr.Attempts)
	}
	for _, want := range []string{"fake-coder", srv.URL(), "model crashed", "500"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if srv.Pending() != 1 {
		t.Errorf("pending steps %d, want 1 (no fourth attempt)", srv.Pending())
	}
}

func TestLLMChatClientErrorNotRetried(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Status(400, "bad request: unknown field"), llmtest.Reply("no"))
	c := testClient(t, srv, nil)
	_, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")})
	lerr := asLLMError(t, err, "http")
	if lerr.Status != 400 || lerr.Attempts != 1 || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("status %d attempts %d: %v", lerr.Status, lerr.Attempts, err)
	}
}

func TestLLMChat429HonoursRetryAfter(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Header("Retry-After", "1", llmtest.Status(429, "slow down")), llmtest.Reply("ok"))
	c := testClient(t, srv, nil)
	start := time.Now()
	resp, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")})
	if err != nil {
		t.Fatal(err)
	}
	// Without Retry-After the first backoff is at most 300 ms.
	if el := time.Since(start); el < time.Second {
		t.Errorf("retried after %v, before the 1 s Retry-After", el)
	}
	if resp.Attempts != 2 {
		t.Errorf("attempts %d, want 2", resp.Attempts)
	}
}

func TestLLMChatTimeoutRetried(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Delay(5*time.Second, llmtest.Reply("late")), llmtest.Reply("ok"))
	c := testClient(t, srv, func(cfg *LLMConfig) { cfg.Timeout = 150 * time.Millisecond })
	resp, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content != "ok" || resp.Attempts != 2 {
		t.Errorf("content %q attempts %d", resp.Content, resp.Attempts)
	}
}

func TestLLMChatTimeoutExhausted(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Delay(5*time.Second, llmtest.Reply("late")), llmtest.Delay(5*time.Second, llmtest.Reply("late")))
	c := testClient(t, srv, func(cfg *LLMConfig) { cfg.Timeout = 150 * time.Millisecond; cfg.Retries = 1 })
	start := time.Now()
	_, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")})
	lerr := asLLMError(t, err, "timeout")
	if lerr.Attempts != 2 || len(srv.Requests()) != 2 {
		t.Errorf("attempts %d, server saw %d, want 2", lerr.Attempts, len(srv.Requests()))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error does not wrap context.DeadlineExceeded: %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v", el)
	}
}

func TestLLMChatMalformedNotRetried(t *testing.T) {
	for _, stream := range []bool{false, true} {
		srv := llmtest.NewServer(t)
		srv.Script(llmtest.Malformed(), llmtest.Reply("never"))
		c := testClient(t, srv, nil)
		_, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi"), Stream: stream})
		lerr := asLLMError(t, err, "malformed")
		if lerr.Attempts != 1 || len(srv.Requests()) != 1 {
			t.Errorf("stream=%v: attempts %d, server saw %d, want 1", stream, lerr.Attempts, len(srv.Requests()))
		}
	}
}

func TestLLMChatRefusal(t *testing.T) {
	for _, stream := range []bool{false, true} {
		srv := llmtest.NewServer(t)
		srv.Script(llmtest.Refusal("I will not write that method"), llmtest.Reply("never"))
		c := testClient(t, srv, nil)
		_, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi"), Stream: stream})
		lerr := asLLMError(t, err, "refused")
		if lerr.Attempts != 1 || !strings.Contains(err.Error(), "I will not write that method") {
			t.Errorf("stream=%v: attempts %d: %v", stream, lerr.Attempts, err)
		}
	}
}

func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1"
}

func TestLLMChatUnreachable(t *testing.T) {
	base := closedPortURL(t)
	c := NewLLMClient(LLMConfig{Name: "coder", BaseURL: base, Model: "fake-coder", Retries: 1}, nil)
	_, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")})
	lerr := asLLMError(t, err, "unreachable")
	if lerr.Attempts != 2 {
		t.Errorf("attempts %d, want 2 (unreachable is retried)", lerr.Attempts)
	}
	if !strings.Contains(err.Error(), base) || !strings.Contains(err.Error(), "fake-coder") {
		t.Errorf("error %q does not name the base URL and model", err)
	}
}

func TestLLMChatDroppedConnectionRetried(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Drop(), llmtest.Reply("ok"))
	c := testClient(t, srv, nil)
	resp, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Attempts != 2 {
		t.Errorf("attempts %d, want 2", resp.Attempts)
	}
}

func TestLLMChatContextTooLongRefusedBeforeSending(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Reply("never"))
	c := testClient(t, srv, func(cfg *LLMConfig) { cfg.ContextLength = 100 })
	_, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg(strings.Repeat("word ", 200))})
	lerr := asLLMError(t, err, "context-too-long")
	if lerr.Attempts != 0 || len(srv.Requests()) != 0 {
		t.Errorf("attempts %d, server saw %d requests, want 0", lerr.Attempts, len(srv.Requests()))
	}
	if !strings.Contains(err.Error(), "251") || !strings.Contains(err.Error(), "100") {
		t.Errorf("error %q does not give the estimate and the limit", err)
	}
	// A prompt that fits is sent.
	if _, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("short")}); err != nil {
		t.Fatal(err)
	}
}

func TestLLMChatNoConfig(t *testing.T) {
	c := NewLLMClient(LLMConfig{Name: "coder"}, nil)
	_, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")})
	asLLMError(t, err, "no-config")
	if !strings.Contains(err.Error(), "PHOENIX_MODEL") {
		t.Errorf("error %q does not say how to configure", err)
	}
}

func TestLLMChatConcurrencyLimit(t *testing.T) {
	for _, tc := range []struct{ concurrency, wantMax int }{{1, 1}, {2, 2}} {
		srv := llmtest.NewServer(t)
		srv.Script(llmtest.Delay(300*time.Millisecond, llmtest.Reply("a")), llmtest.Delay(300*time.Millisecond, llmtest.Reply("b")))
		c := testClient(t, srv, func(cfg *LLMConfig) { cfg.Concurrency = tc.concurrency })
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for range 2 {
			wg.Go(func() {
				_, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := srv.MaxInFlight(); got != tc.wantMax {
			t.Errorf("concurrency %d: server saw %d in flight at most, want %d", tc.concurrency, got, tc.wantMax)
		}
	}
}

func TestLLMChatQueuedCallerGivesUp(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Delay(time.Second, llmtest.Reply("slow")))
	c := testClient(t, srv, nil)
	done := make(chan error, 1)
	go func() {
		_, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("first")})
		done <- err
	}()
	for len(srv.Requests()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Chat(ctx, ChatRequest{Messages: userMsg("second")})
	lerr := asLLMError(t, err, "timeout")
	if lerr.Attempts != 0 {
		t.Errorf("attempts %d, want 0 (never left the queue)", lerr.Attempts)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = c.Chat(ctx2, ChatRequest{Messages: userMsg("third")})
	if lerr := asLLMError(t, err, "canceled"); lerr.Attempts != 0 || len(srv.Requests()) != 1 {
		t.Errorf("a canceled caller sent a request: attempts %d, server saw %d", lerr.Attempts, len(srv.Requests()))
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error does not wrap context.Canceled: %v", err)
	}
}

func TestLLMUsageAccumulates(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Reply("one"), llmtest.Stream("two ", "three"), llmtest.Status(400, "no"))
	c := testClient(t, srv, nil)
	var want TokenUsage
	for _, stream := range []bool{false, true} {
		resp, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("count"), Stream: stream})
		if err != nil {
			t.Fatal(err)
		}
		want.PromptTokens += int64(resp.Usage.PromptTokens)
		want.CompletionTokens += int64(resp.Usage.CompletionTokens)
	}
	if _, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("fail")}); err == nil {
		t.Fatal("no error from a 400")
	}
	want.Requests, want.Attempts, want.Failures = 3, 3, 1
	if got := c.Usage(); got != want || got.PromptTokens == 0 || got.CompletionTokens == 0 {
		t.Errorf("usage %+v, want %+v", got, want)
	}
}

func TestLLMAuthorizationFromKeyEnvAtRequestTime(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Script(llmtest.Reply("a"), llmtest.Reply("b"))
	t.Setenv(testKeyEnv, testKey)
	c := testClient(t, srv, func(cfg *LLMConfig) { cfg.KeyEnv = testKeyEnv })
	if _, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	t.Setenv(testKeyEnv, testKey+"-rotated")
	if _, err := c.Chat(context.Background(), ChatRequest{Messages: userMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("Authorization %q", got)
	}
	if got := reqs[1].Header.Get("Authorization"); got != "Bearer "+testKey+"-rotated" {
		t.Errorf("Authorization after rotation %q", got)
	}
}

// TestLLMKeyNeverInErrorsOrLogs triggers every kind of error with a key set
// and looks for the key in error texts, unwrapped errors and debug logs.
func TestLLMKeyNeverInErrorsOrLogs(t *testing.T) {
	t.Setenv(testKeyEnv, testKey)
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))

	srv := llmtest.NewServer(t)
	srv.Script(
		llmtest.Status(401, `{"error":{"message":"bad key","type":"auth"}}`),
		llmtest.Malformed(),
		llmtest.Refusal("no"),
		llmtest.Delay(5*time.Second, llmtest.Reply("late")),
		llmtest.Reply("ok"),
	)
	// A server that echoes the Authorization header into its error, as some
	// proxies do.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "rejected credentials: "+r.Header.Get("Authorization"), http.StatusForbidden)
	}))
	defer echo.Close()

	mk := func(base string, mod func(*LLMConfig)) *LLMClient {
		cfg := LLMConfig{Name: "coder", BaseURL: base, Model: "fake-coder", KeyEnv: testKeyEnv,
			Timeout: 150 * time.Millisecond, Retries: -1}
		if mod != nil {
			mod(&cfg)
		}
		return NewLLMClient(cfg, log)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		kind   string
		client *LLMClient
		ctx    context.Context
		req    ChatRequest
	}{
		{"http", mk(srv.URL(), nil), context.Background(), ChatRequest{Messages: userMsg("hi")}},
		{"malformed", mk(srv.URL(), nil), context.Background(), ChatRequest{Messages: userMsg("hi")}},
		{"refused", mk(srv.URL(), nil), context.Background(), ChatRequest{Messages: userMsg("hi")}},
		{"timeout", mk(srv.URL(), nil), context.Background(), ChatRequest{Messages: userMsg("hi")}},
		{"http", mk(echo.URL+"/v1", nil), context.Background(), ChatRequest{Messages: userMsg("hi")}},
		{"unreachable", mk(closedPortURL(t), nil), context.Background(), ChatRequest{Messages: userMsg("hi")}},
		{"context-too-long", mk(srv.URL(), func(c *LLMConfig) { c.ContextLength = 1 }), context.Background(),
			ChatRequest{Messages: userMsg("a prompt longer than one token")}},
		{"no-config", mk("", nil), context.Background(), ChatRequest{Messages: userMsg("hi")}},
		{"canceled", mk(srv.URL(), nil), canceled, ChatRequest{Messages: userMsg("hi")}},
	}
	for _, tc := range cases {
		_, err := tc.client.Chat(tc.ctx, tc.req)
		lerr := asLLMError(t, err, tc.kind)
		if tc.kind == "http" && lerr.Status == 403 && !strings.Contains(err.Error(), "Bearer [REDACTED]") {
			t.Errorf("the echoed key was not redacted: %v", err)
		}
		for e := err; e != nil; e = errors.Unwrap(e) {
			if strings.Contains(e.Error(), testKey) {
				t.Errorf("%s: the key is in the error text %q", tc.kind, e.Error())
			}
		}
	}
	// The successful request is logged too.
	if _, err := mk(srv.URL(), nil).Chat(context.Background(), ChatRequest{Messages: userMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	if strings.Contains(out, testKey) {
		t.Errorf("the key is in the logs:\n%s", out)
	}
	for _, want := range []string{"outcome=http status=401", "outcome=malformed", "outcome=refused", "outcome=timeout",
		"outcome=http status=403", "outcome=unreachable", "outcome=ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("debug log lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"model=fake-coder", "attempt=1", "latency=", "prompt_tokens=", "completion_tokens="} {
		if !strings.Contains(out, want) {
			t.Errorf("debug log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "a prompt longer") || strings.Contains(out, "msg=\"llm request\" hi") {
		t.Errorf("the prompt is in the logs:\n%s", out)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestLLMConfigFromEnv(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("PHOENIX_MODEL", "")
	if _, ok := ConfigFromEnv(); ok {
		t.Error("ok with neither variable set")
	}
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
	t.Setenv("PHOENIX_MODEL", "qwen2.5-coder")
	t.Setenv("OPENAI_API_KEY", testKey)
	cfg, ok := ConfigFromEnv()
	if !ok || cfg.BaseURL != "http://127.0.0.1:11434/v1" || cfg.Model != "qwen2.5-coder" || cfg.KeyEnv != "OPENAI_API_KEY" {
		t.Errorf("config %+v ok %v", cfg, ok)
	}
	if strings.Contains(strings.ToLower(strings.Join([]string{cfg.Name, cfg.Role, cfg.BaseURL, cfg.Model, cfg.KeyEnv}, " ")), strings.ToLower(testKey)) {
		t.Error("the config holds the key")
	}
	t.Setenv("OPENAI_BASE_URL", "")
	if cfg, ok := ConfigFromEnv(); !ok || cfg.BaseURL != "https://api.openai.com/v1" {
		t.Errorf("model only: config %+v ok %v", cfg, ok)
	}
}

func TestLLMClientDefaults(t *testing.T) {
	cfg := NewLLMClient(LLMConfig{}, nil).Config()
	if cfg.Timeout != 60*time.Second || cfg.Retries != 2 || cfg.Concurrency != 1 {
		t.Errorf("defaults %+v", cfg)
	}
	if got := NewLLMClient(LLMConfig{Retries: -1}, nil).Config().Retries; got != 0 {
		t.Errorf("Retries -1 gives %d retries, want 0", got)
	}
}

func TestLLMParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"nonsense", 0}, {"0", 0}, {"-3", 0},
		{"2", 2 * time.Second}, {"0.5", 500 * time.Millisecond}, {"3600", llmMaxRetryWait},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestLLMBackoffGrows(t *testing.T) {
	for n := 1; n <= 4; n++ {
		d := llmBackoff(n)
		lo := llmBackoffBase << (n - 1)
		if d < lo || d > lo+lo/2 {
			t.Errorf("backoff(%d) = %v, want in [%v, %v]", n, d, lo, lo+lo/2)
		}
	}
}

func TestLLMEstimatePromptTokens(t *testing.T) {
	req := ChatRequest{Messages: []openai.ChatCompletionMessage{
		{Role: "user", Content: strings.Repeat("x", 96)}, // 4 + 96 = 100 characters
	}}
	if got := EstimatePromptTokens(req); got != 25 {
		t.Errorf("estimate %d, want 25", got)
	}
	req.Tools = []openai.Tool{{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "f"}}}
	if got := EstimatePromptTokens(req); got <= 25 {
		t.Errorf("tools do not count: %d", got)
	}
}

func TestLLMRedactURL(t *testing.T) {
	if got := redactURL("https://user:pw@example.test/v1?key=abc"); got != "https://example.test/v1" {
		t.Errorf("redactURL = %q", got)
	}
}
