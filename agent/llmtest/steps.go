package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Step is one scripted answer. Build steps with the functions of this
// package; the zero Step answers 500.
type Step struct {
	serve func(x *exchange)
}

// Call is one tool call of a ToolCalls step. ID is generated ("call_N") when
// empty.
type Call struct {
	ID   string
	Name string
	Args string // JSON arguments
}

func (st Step) run(x *exchange) {
	if st.serve == nil {
		writeError(x.w, http.StatusInternalServerError, "llmtest: zero Step in script")
		return
	}
	st.serve(x)
}

// Reply answers with an assistant message whose content is text (a stream of
// one chunk when the request streams).
func Reply(text string) Step {
	return answerStep(answer{chunks: []string{text}, finish: openai.FinishReasonStop})
}

// ToolCall answers with an assistant message carrying one tool call.
func ToolCall(name, argsJSON string) Step {
	return ToolCalls(Call{Name: name, Args: argsJSON})
}

// ToolCalls answers with an assistant message carrying several tool calls.
func ToolCalls(calls ...Call) Step {
	a := answer{finish: openai.FinishReasonToolCalls}
	for _, c := range calls {
		a.calls = append(a.calls, callChunks{id: c.ID, name: c.Name, args: []string{c.Args}})
	}
	return answerStep(a)
}

// Stream answers a streaming request with one server-sent event per chunk of
// content. A request that does not stream gets the joined text as one
// ordinary completion.
func Stream(chunks ...string) Step {
	return answerStep(answer{chunks: chunks, finish: openai.FinishReasonStop})
}

// StreamToolCall answers a streaming request with one tool call whose
// arguments arrive split over several events, as real servers send them. A
// request that does not stream gets the whole call in one completion.
func StreamToolCall(name string, argChunks ...string) Step {
	return answerStep(answer{
		calls:  []callChunks{{name: name, args: argChunks}},
		finish: openai.FinishReasonToolCalls,
	})
}

// Refusal answers with a refusal: the message's refusal field is text and the
// finish reason is "content_filter".
func Refusal(text string) Step {
	return answerStep(answer{refusal: text, finish: openai.FinishReasonContentFilter})
}

// Status answers with an HTTP error. A body that is JSON is sent as
// application/json, anything else as text/plain.
func Status(code int, body string) Step {
	return Step{serve: func(x *exchange) {
		if looksLikeJSON(body) {
			x.w.Header().Set("Content-Type", "application/json")
		} else {
			x.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		x.w.WriteHeader(code)
		_, _ = x.w.Write([]byte(body))
	}}
}

// Header sets a response header, then serves the step then; for instance
// Header("Retry-After", "1", Status(429, "slow down")).
func Header(key, value string, then Step) Step {
	return Step{serve: func(x *exchange) {
		x.w.Header().Set(key, value)
		then.run(x)
	}}
}

// Delay waits d before serving then. If the client gives up first (its
// request context ends) or the test ends, nothing is served.
func Delay(d time.Duration, then Step) Step {
	return Step{serve: func(x *exchange) {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
			then.run(x)
		case <-x.r.Context().Done():
		case <-x.s.done:
		}
	}}
}

// Malformed answers 200 with a body that is not valid JSON (for a streaming
// request, an event whose data is not valid JSON).
func Malformed() Step {
	return Step{serve: func(x *exchange) {
		if isStream(x.req) {
			x.w.Header().Set("Content-Type", "text/event-stream")
			x.w.WriteHeader(http.StatusOK)
			_, _ = fmt.Fprint(x.w, "data: {\"id\": this is not json\n\n")
			return
		}
		x.w.Header().Set("Content-Type", "application/json")
		x.w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprint(x.w, `{"id": "llmtest-malformed", "choices": [ this is not json`)
	}}
}

// Drop closes the connection without answering, as a crashing server would.
func Drop() Step {
	return Step{serve: func(x *exchange) {
		hj, ok := x.w.(http.Hijacker)
		if !ok {
			writeError(x.w, http.StatusInternalServerError, "llmtest: Drop needs a hijackable connection")
			return
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			writeError(x.w, http.StatusInternalServerError, "llmtest: Drop: "+err.Error())
			return
		}
		_ = conn.Close()
	}}
}

// Func decides the answer from the request, for instance to echo it.
func Func(fn func(req openai.ChatCompletionRequest) Step) Step {
	return Step{serve: func(x *exchange) {
		fn(x.req).run(x)
	}}
}

// answer is what a completion step says, independent of how it is sent.
type answer struct {
	chunks  []string
	calls   []callChunks
	refusal string
	finish  openai.FinishReason
}

type callChunks struct {
	id, name string
	args     []string
}

func answerStep(a answer) Step {
	return Step{serve: func(x *exchange) { x.answer(a) }}
}

// usage gives deterministic token counts: a quarter of the request's bytes
// and a quarter (rounded up) of the generated text's.
func (x *exchange) usage(a answer) openai.Usage {
	n := len(a.refusal)
	for _, c := range a.chunks {
		n += len(c)
	}
	for _, c := range a.calls {
		n += len(c.name)
		for _, arg := range c.args {
			n += len(arg)
		}
	}
	u := openai.Usage{PromptTokens: len(x.raw) / 4, CompletionTokens: (n + 3) / 4}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

func (x *exchange) answer(a answer) {
	ids := make([]string, len(a.calls))
	for i, c := range a.calls {
		ids[i] = c.id
		if ids[i] == "" {
			ids[i] = x.s.nextCallID()
		}
	}
	id := fmt.Sprintf("chatcmpl-llmtest-%d", len(x.s.Requests()))
	model := x.req.Model
	if isStream(x.req) {
		x.stream(a, id, model, ids)
		return
	}
	msg := openai.ChatCompletionMessage{
		Role:    openai.ChatMessageRoleAssistant,
		Content: strings.Join(a.chunks, ""),
		Refusal: a.refusal,
	}
	for i, c := range a.calls {
		msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{
			ID:       ids[i],
			Type:     openai.ToolTypeFunction,
			Function: openai.FunctionCall{Name: c.name, Arguments: strings.Join(c.args, "")},
		})
	}
	writeJSON(x.w, http.StatusOK, openai.ChatCompletionResponse{
		ID:      id,
		Object:  "chat.completion",
		Created: time.Now().Unix(),
		Model:   model,
		Choices: []openai.ChatCompletionChoice{{Index: 0, Message: msg, FinishReason: a.finish}},
		Usage:   x.usage(a),
	})
}

func (x *exchange) stream(a answer, id, model string, ids []string) {
	x.w.Header().Set("Content-Type", "text/event-stream")
	x.w.Header().Set("Cache-Control", "no-cache")
	x.w.WriteHeader(http.StatusOK)
	flusher, _ := x.w.(http.Flusher)
	created := time.Now().Unix()
	send := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic("llmtest: encoding a stream chunk: " + err.Error())
		}
		_, _ = fmt.Fprintf(x.w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(delta openai.ChatCompletionStreamChoiceDelta, finish openai.FinishReason) {
		send(openai.ChatCompletionStreamResponse{
			ID: id, Object: "chat.completion.chunk", Created: created, Model: model,
			Choices: []openai.ChatCompletionStreamChoice{{Index: 0, Delta: delta, FinishReason: finish}},
		})
	}
	chunk(openai.ChatCompletionStreamChoiceDelta{Role: openai.ChatMessageRoleAssistant}, "")
	for _, c := range a.chunks {
		chunk(openai.ChatCompletionStreamChoiceDelta{Content: c}, "")
	}
	if a.refusal != "" {
		chunk(openai.ChatCompletionStreamChoiceDelta{Refusal: a.refusal}, "")
	}
	for i, c := range a.calls {
		index := i
		chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{
			Index: &index, ID: ids[i], Type: openai.ToolTypeFunction,
			Function: openai.FunctionCall{Name: c.name},
		}}}, "")
		for _, arg := range c.args {
			chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{
				Index: &index, Function: openai.FunctionCall{Arguments: arg},
			}}}, "")
		}
	}
	chunk(openai.ChatCompletionStreamChoiceDelta{}, a.finish)
	if includeUsage(x.req) {
		u := x.usage(a)
		send(openai.ChatCompletionStreamResponse{
			ID: id, Object: "chat.completion.chunk", Created: created, Model: model,
			Choices: []openai.ChatCompletionStreamChoice{}, Usage: &u,
		})
	}
	_, _ = fmt.Fprint(x.w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}
