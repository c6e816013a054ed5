// Package llmtest is a scripted, OpenAI-compatible fake LLM server for tests.
//
// The fake is the only thing faked: tests speak to it with the real client
// (agent.LLMClient, built on go-openai) over HTTP on the loopback interface
// (127.0.0.1), never anything else. A test builds a Server with NewServer,
// gives it a Script of Steps and points the client at URL():
//
//	srv := llmtest.NewServer(t)
//	srv.Script(
//		llmtest.ToolCall("define_method", `{"selector":"deposit"}`),
//		llmtest.Reply("done"),
//	)
//	cfg := agent.LLMConfig{BaseURL: srv.URL(), Model: "fake"}
//
// Each request to /v1/chat/completions consumes the next step; when the
// script runs out the server answers 500 "llmtest: script exhausted". A step
// describes one answer, and is rendered as a server-sent-event stream when the
// request asked for stream=true and as a single JSON completion otherwise, so
// the same script serves streaming and non-streaming clients.
//
// The package imports only the standard library and go-openai's types.
package llmtest
