package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

// Recorded is one request the server received on /v1/chat/completions.
type Recorded struct {
	Path   string
	Body   openai.ChatCompletionRequest // Raw decoded; zero if Raw was not valid JSON
	Raw    []byte
	Header http.Header
}

// Server is a scripted OpenAI-compatible HTTP server on 127.0.0.1.
type Server struct {
	t    testing.TB
	ts   *httptest.Server
	done chan struct{} // closed when the test ends; Delay steps stop waiting

	mu          sync.Mutex
	steps       []Step
	next        int
	requests    []Recorded
	inFlight    int
	maxInFlight int
	callSeq     int
	embed       func(input []string) [][]float32
}

// NewServer starts a fake on a loopback port. It is closed by t.Cleanup.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/chat/completions", s.handleChat)
	mux.HandleFunc("/v1/embeddings", s.handleEmbeddings)
	ts := httptest.NewUnstartedServer(mux)
	// httptest listens on 127.0.0.1 already; make that explicit so the fake
	// can never be reached from outside the machine.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("llmtest: listen on loopback: %v", err)
	}
	ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	s.ts = ts
	t.Cleanup(func() {
		close(s.done)
		ts.Close()
	})
	return s
}

// URL is the base URL of the fake's API, ending in /v1.
func (s *Server) URL() string { return s.ts.URL + "/v1" }

// Script appends steps; they are served in order, one per chat request.
func (s *Server) Script(steps ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.steps = append(s.steps, steps...)
}

// Pending is the number of scripted steps not yet served.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.steps) - s.next
}

// Requests returns a copy of the chat requests received so far, in order of
// arrival.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.requests...)
}

// MaxInFlight is the largest number of chat requests the server was handling
// at the same time.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// Embeddings installs a handler for /v1/embeddings. Without one that path
// answers 404.
func (s *Server) Embeddings(fn func(input []string) [][]float32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.embed = fn
}

func (s *Server) nextCallID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callSeq++
	return fmt.Sprintf("call_%d", s.callSeq)
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "llmtest: chat completions take POST, not "+r.Method)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "llmtest: reading request body: "+err.Error())
		return
	}
	var body openai.ChatCompletionRequest
	decodeErr := json.Unmarshal(raw, &body)

	s.mu.Lock()
	s.requests = append(s.requests, Recorded{Path: r.URL.Path, Body: body, Raw: raw, Header: r.Header.Clone()})
	s.inFlight++
	if s.inFlight > s.maxInFlight {
		s.maxInFlight = s.inFlight
	}
	var step Step
	exhausted := s.next >= len(s.steps)
	if !exhausted {
		step = s.steps[s.next]
		s.next++
	}
	served := s.next
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()

	if decodeErr != nil {
		writeError(w, http.StatusBadRequest, "llmtest: request body is not a chat completion request: "+decodeErr.Error())
		return
	}
	if exhausted {
		writeError(w, http.StatusInternalServerError,
			fmt.Sprintf("llmtest: script exhausted (request %d, %d steps scripted)", len(s.Requests()), served))
		return
	}
	x := &exchange{s: s, w: w, r: r, req: body, raw: raw}
	step.run(x)
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fn := s.embed
	s.mu.Unlock()
	if fn == nil {
		http.NotFound(w, r)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "llmtest: reading request body: "+err.Error())
		return
	}
	var req struct {
		Input json.RawMessage `json:"input"`
		Model string          `json:"model"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, "llmtest: embeddings request is not JSON: "+err.Error())
		return
	}
	var inputs []string
	if err := json.Unmarshal(req.Input, &inputs); err != nil {
		var one string
		if err2 := json.Unmarshal(req.Input, &one); err2 != nil {
			writeError(w, http.StatusBadRequest, "llmtest: embeddings input must be a string or a list of strings")
			return
		}
		inputs = []string{one}
	}
	vecs := fn(inputs)
	resp := openai.EmbeddingResponse{Object: "list", Model: openai.EmbeddingModel(req.Model)}
	for i, v := range vecs {
		resp.Data = append(resp.Data, openai.Embedding{Object: "embedding", Embedding: v, Index: i})
	}
	resp.Usage = openai.Usage{PromptTokens: len(raw) / 4, TotalTokens: len(raw) / 4}
	writeJSON(w, http.StatusOK, resp)
}

// exchange is one request being answered.
type exchange struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	req openai.ChatCompletionRequest
	raw []byte
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "llmtest: encoding response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// writeError answers in the OpenAI error format, so clients show message.
func writeError(w http.ResponseWriter, code int, message string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": message, "type": "llmtest_error", "code": code,
	}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func looksLikeJSON(body string) bool {
	b := bytes.TrimSpace([]byte(body))
	return len(b) > 0 && (b[0] == '{' || b[0] == '[') && json.Valid(b)
}

func isStream(req openai.ChatCompletionRequest) bool { return req.Stream }

func includeUsage(req openai.ChatCompletionRequest) bool {
	return req.StreamOptions != nil && req.StreamOptions.IncludeUsage
}
