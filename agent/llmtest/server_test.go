package llmtest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

func client(s *Server) *openai.Client {
	cfg := openai.DefaultConfig("test-key")
	cfg.BaseURL = s.URL()
	return openai.NewClientWithConfig(cfg)
}

func chatReq(text string) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:    "fake",
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: text}},
	}
}

func post(t *testing.T, s *Server, path, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(strings.TrimSuffix(s.URL(), "/v1")+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServerIsOnLoopbackWithV1(t *testing.T) {
	s := NewServer(t)
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "127.0.0.1" || u.Path != "/v1" {
		t.Errorf("URL %q, want http://127.0.0.1:PORT/v1", s.URL())
	}
}

func TestReplyToolCallAndRecording(t *testing.T) {
	s := NewServer(t)
	s.Script(Reply("hello"), ToolCall("f", `{"a":1}`), ToolCalls(Call{Name: "g", Args: "{}"}, Call{ID: "mine", Name: "h", Args: `{"b":2}`}))
	c := client(s)
	ctx := context.Background()

	r, err := c.CreateChatCompletion(ctx, chatReq("one"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Choices[0].Message.Content != "hello" || r.Choices[0].FinishReason != openai.FinishReasonStop {
		t.Errorf("reply %+v", r.Choices[0])
	}
	if r.Usage.PromptTokens <= 0 || r.Usage.CompletionTokens != 2 || r.Usage.TotalTokens != r.Usage.PromptTokens+2 {
		t.Errorf("usage %+v (completion of \"hello\" is 2 tokens)", r.Usage)
	}

	r, err = c.CreateChatCompletion(ctx, chatReq("two"))
	if err != nil {
		t.Fatal(err)
	}
	tc := r.Choices[0].Message.ToolCalls
	if len(tc) != 1 || tc[0].Function.Name != "f" || tc[0].Function.Arguments != `{"a":1}` || tc[0].ID == "" ||
		r.Choices[0].FinishReason != openai.FinishReasonToolCalls {
		t.Errorf("tool call %+v", r.Choices[0])
	}

	r, err = c.CreateChatCompletion(ctx, chatReq("three"))
	if err != nil {
		t.Fatal(err)
	}
	tc = r.Choices[0].Message.ToolCalls
	if len(tc) != 2 || tc[0].ID == "" || tc[0].ID == "mine" || tc[1].ID != "mine" || tc[1].Function.Arguments != `{"b":2}` {
		t.Errorf("tool calls %+v", tc)
	}

	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("recorded %d requests", len(reqs))
	}
	if reqs[1].Body.Messages[0].Content != "two" || reqs[1].Body.Model != "fake" || !strings.Contains(string(reqs[1].Raw), `"two"`) {
		t.Errorf("recorded %+v", reqs[1])
	}
	if reqs[0].Header.Get("Authorization") != "Bearer test-key" || reqs[0].Path != "/v1/chat/completions" {
		t.Errorf("header %v path %q", reqs[0].Header, reqs[0].Path)
	}
	if s.Pending() != 0 {
		t.Errorf("pending %d", s.Pending())
	}
}

func TestScriptExhausted(t *testing.T) {
	s := NewServer(t)
	code, body := post(t, s, "/v1/chat/completions", `{"model":"fake","messages":[]}`)
	if code != 500 || !strings.Contains(body, "llmtest: script exhausted") {
		t.Errorf("%d %s", code, body)
	}
	_, err := client(s).CreateChatCompletion(context.Background(), chatReq("x"))
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 500 || !strings.Contains(apiErr.Message, "script exhausted") {
		t.Errorf("client error %v", err)
	}
}

func TestStreamChunks(t *testing.T) {
	s := NewServer(t)
	s.Script(Stream("a", "b", "c"), StreamToolCall("f", `{"x"`, `:1}`))
	c := client(s)
	req := chatReq("s")
	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	st, err := c.CreateChatCompletionStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	var finish openai.FinishReason
	var usage *openai.Usage
	for {
		ch, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ch.Usage != nil {
			usage = ch.Usage
		}
		for _, c := range ch.Choices {
			if c.Delta.Content != "" {
				parts = append(parts, c.Delta.Content)
			}
			if c.FinishReason != "" {
				finish = c.FinishReason
			}
		}
	}
	st.Close()
	if strings.Join(parts, "|") != "a|b|c" || finish != openai.FinishReasonStop || usage == nil || usage.CompletionTokens != 1 {
		t.Errorf("parts %q finish %q usage %+v", parts, finish, usage)
	}

	st, err = c.CreateChatCompletionStream(context.Background(), chatReq("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var args []string
	var name string
	usage = nil
	for {
		ch, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ch.Usage != nil {
			usage = ch.Usage
		}
		for _, c := range ch.Choices {
			for _, tc := range c.Delta.ToolCalls {
				if tc.Index == nil || *tc.Index != 0 {
					t.Errorf("tool call delta without index 0: %+v", tc)
				}
				name += tc.Function.Name
				if tc.Function.Arguments != "" {
					args = append(args, tc.Function.Arguments)
				}
			}
		}
	}
	if name != "f" || strings.Join(args, "|") != `{"x"|:1}` {
		t.Errorf("name %q args %q", name, args)
	}
	if usage != nil {
		t.Errorf("usage sent without stream_options.include_usage: %+v", usage)
	}
}

func TestStreamStepsServeNonStreamingRequests(t *testing.T) {
	s := NewServer(t)
	s.Script(Stream("a", "b"), StreamToolCall("f", `{"x"`, `:1}`))
	c := client(s)
	r, err := c.CreateChatCompletion(context.Background(), chatReq("x"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Choices[0].Message.Content != "ab" {
		t.Errorf("joined content %q", r.Choices[0].Message.Content)
	}
	r, err = c.CreateChatCompletion(context.Background(), chatReq("y"))
	if err != nil {
		t.Fatal(err)
	}
	if tc := r.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Arguments != `{"x":1}` {
		t.Errorf("joined tool call %+v", tc)
	}
}

func TestStatusHeaderAndMalformed(t *testing.T) {
	s := NewServer(t)
	s.Script(
		Header("Retry-After", "3", Status(429, "slow down")),
		Status(503, `{"error":{"message":"busy"}}`),
		Malformed(),
	)
	resp, err := http.Post(s.URL()+"/chat/completions", "application/json", strings.NewReader(`{"model":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" || string(b) != "slow down" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("%d %v %q", resp.StatusCode, resp.Header, b)
	}
	_, err = client(s).CreateChatCompletion(context.Background(), chatReq("x"))
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 503 || apiErr.Message != "busy" {
		t.Errorf("JSON error body: %v", err)
	}
	code, body := post(t, s, "/v1/chat/completions", `{"model":"m"}`)
	if code != 200 || strings.HasPrefix(body, "{") && strings.HasSuffix(body, "}") {
		t.Errorf("malformed answer %d %q", code, body)
	}
}

func TestRefusal(t *testing.T) {
	s := NewServer(t)
	s.Script(Refusal("no"))
	r, err := client(s).CreateChatCompletion(context.Background(), chatReq("x"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Choices[0].FinishReason != openai.FinishReasonContentFilter || r.Choices[0].Message.Refusal != "no" {
		t.Errorf("refusal %+v", r.Choices[0])
	}
}

func TestDelayRespectsRequestContextAndCountsInFlight(t *testing.T) {
	s := NewServer(t)
	s.Script(Delay(10*time.Second, Reply("late")), Delay(50*time.Millisecond, Reply("soon")))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := client(s).CreateChatCompletion(ctx, chatReq("x")); err == nil {
		t.Fatal("no error from a request that gave up")
	}
	r, err := client(s).CreateChatCompletion(context.Background(), chatReq("y"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Choices[0].Message.Content != "soon" || time.Since(start) > 5*time.Second {
		t.Errorf("content %q after %v", r.Choices[0].Message.Content, time.Since(start))
	}
	if s.MaxInFlight() < 1 || s.MaxInFlight() > 2 {
		t.Errorf("max in flight %d", s.MaxInFlight())
	}
}

func TestFuncEchoes(t *testing.T) {
	s := NewServer(t)
	s.Script(Func(func(req openai.ChatCompletionRequest) Step {
		return Reply("echo: " + req.Messages[len(req.Messages)-1].Content)
	}))
	r, err := client(s).CreateChatCompletion(context.Background(), chatReq("ping"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Choices[0].Message.Content != "echo: ping" {
		t.Errorf("content %q", r.Choices[0].Message.Content)
	}
}

func TestDropAndZeroStep(t *testing.T) {
	s := NewServer(t)
	s.Script(Drop(), Step{})
	if _, err := client(s).CreateChatCompletion(context.Background(), chatReq("x")); err == nil {
		t.Error("no error from a dropped connection")
	}
	code, body := post(t, s, "/v1/chat/completions", `{"model":"m"}`)
	if code != 500 || !strings.Contains(body, "zero Step") {
		t.Errorf("%d %s", code, body)
	}
}

func TestBadRequestBodyRecorded(t *testing.T) {
	s := NewServer(t)
	s.Script(Reply("unused"))
	code, body := post(t, s, "/v1/chat/completions", `not json`)
	if code != 400 || !strings.Contains(body, "not a chat completion request") {
		t.Errorf("%d %s", code, body)
	}
	if reqs := s.Requests(); len(reqs) != 1 || string(reqs[0].Raw) != "not json" {
		t.Errorf("recorded %+v", reqs)
	}
}

func TestEmbeddings(t *testing.T) {
	s := NewServer(t)
	code, _ := post(t, s, "/v1/embeddings", `{"input":"x","model":"e"}`)
	if code != 404 {
		t.Errorf("embeddings without a handler: %d, want 404", code)
	}
	s.Embeddings(func(in []string) [][]float32 {
		out := make([][]float32, len(in))
		for i, text := range in {
			out[i] = []float32{float32(len(text)), 1}
		}
		return out
	})
	r, err := client(s).CreateEmbeddings(context.Background(), openai.EmbeddingRequestStrings{
		Input: []string{"ab", "abcd"}, Model: "e",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Data) != 2 || r.Data[1].Embedding[0] != 4 || r.Data[1].Index != 1 {
		t.Errorf("embeddings %+v", r.Data)
	}
	code, body := post(t, s, "/v1/embeddings", `{"input":"single","model":"e"}`)
	if code != 200 || !strings.Contains(body, `"embedding":[6,1]`) {
		t.Errorf("single input: %d %s", code, body)
	}
}

func TestBagOfWordsEmbeddings(t *testing.T) {
	e := BagOfWords(64)
	v := e([]string{"withdraw money from the Account", "Account withdrawMoney", "push onto a stack", ""})
	dot := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	if len(v) != 4 || len(v[0]) != 64 {
		t.Fatalf("shape %d x %d", len(v), len(v[0]))
	}
	if same := dot(v[0], v[1]); same < 0.6 {
		t.Errorf("texts sharing three words: cosine %.2f", same)
	}
	if other := dot(v[0], v[2]); other > 0.3 {
		t.Errorf("texts sharing no word: cosine %.2f", other)
	}
	if again := e([]string{"withdraw money from the Account"}); dot(again[0], v[0]) < 0.999 {
		t.Error("not deterministic")
	}
	for _, x := range v[3] {
		if x != 0 {
			t.Fatal("the empty text has a non-zero vector")
		}
	}
}
