package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	openai "github.com/sashabaranov/go-openai"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/vm"
)

// chatSession is one conversation with the agent, shared by the local
// window's chat (plannerChat, guichat.go) and phoenix serve's (serveChat,
// servechat.go; no cgo): each Turn is one agent.Planner.Run on the
// caller's goroutine, continuing the conversation's history. The model's
// calls, the plan's confirmation and ask_person wait there; only the
// tools that read or change the image run on the VM's goroutine, through
// do (onLoop). Turns run one at a time.
type chatSession struct {
	// do runs f on the VM's goroutine (vmLoop.Do, RemoteBackend.Do).
	do       func(ctx context.Context, f func(*vm.VM)) error
	resolver *agent.Resolver // nil: no agent
	// tools is the planner's registry; nil: the builtin and personality tools.
	tools *agent.Registry

	confirm chan bool   // the person's Run/Decline for the plan asked about
	answer  chan string // the person's answer to the question asked

	// On the turn's goroutine only.
	post    func(agent.Event)
	planner *agent.Planner
	history []openai.ChatCompletionMessage
}

func newChatSession(do func(context.Context, func(*vm.VM)) error, r *agent.Resolver) *chatSession {
	return &chatSession{do: do, resolver: r, confirm: make(chan bool, 1), answer: make(chan string, 1)}
}

// reset drops replies left from an earlier turn, so that they do not
// answer the next one; call it before starting a turn.
func (s *chatSession) reset() {
	select {
	case <-s.confirm:
	default:
	}
	select {
	case <-s.answer:
	default:
	}
}

// Turn runs one request. Events go to post: the planner's (agent.Event
// kinds), "confirm" when the plan shown waits for Confirm, "question"
// (Text) when ask_person waits for Answer, and "error" ("stopped" when ctx
// ended). It posts no "done".
func (s *chatSession) Turn(ctx context.Context, text string, post func(agent.Event)) {
	s.post = post
	p, err := s.plannerFor(ctx)
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("stopped")
		}
		post(agent.Event{Kind: "error", Text: err.Error()})
		return
	}
	errored := false
	p.OnEvent = func(e agent.Event) {
		errored = e.Kind == "error"
		post(e)
	}
	_, h, err := p.Run(ctx, s.history, text)
	s.history = h // kept even after an error, so the conversation goes on
	switch {
	case ctx.Err() != nil:
		post(agent.Event{Kind: "error", Text: "stopped"})
	case err != nil && !errored:
		post(agent.Event{Kind: "error", Text: err.Error()})
	}
}

// plannerFor makes the planner once: the image's "planner" role object's
// LLM if it has one (read on the VM's goroutine), else the resolver's.
func (s *chatSession) plannerFor(ctx context.Context) (*agent.Planner, error) {
	if s.planner != nil {
		return s.planner, nil
	}
	var llm agent.Chatter
	if s.resolver != nil && s.resolver.LLM != nil {
		llm = s.resolver.LLM
		var cfg agent.LLMConfig
		found := false
		if err := s.do(ctx, func(v *vm.VM) {
			if o := agent.RoleObject(v, "planner"); o != nil {
				cfg, found = agent.ConfigOf(v, o)
			}
		}); err != nil {
			return nil, err
		}
		if found {
			llm = agent.NewLLMClient(cfg, slog.Default())
		}
	}
	tools := s.tools
	if tools == nil {
		tools = agent.NewRegistry(append(agent.BuiltinTools(), agent.PersonalityTools()...)...)
	}
	env := &agent.ToolEnv{Resolver: s.resolver, Log: slog.Default(), Ask: s.ask}
	s.planner = &agent.Planner{LLM: llm, Tools: onLoop(s.do, tools), Env: env, ConfirmPlan: s.confirmPlan}
	return s.planner, nil
}

// confirmPlan asks the person to Run or Decline the plan just shown.
func (s *chatSession) confirmPlan(ctx context.Context, steps []string) (bool, error) {
	s.post(agent.Event{Kind: "confirm"})
	select {
	case ok := <-s.confirm:
		return ok, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// ask puts the agent's question to the person and waits for the answer.
func (s *chatSession) ask(ctx context.Context, q string) (string, error) {
	s.post(agent.Event{Kind: "question", Text: q})
	select {
	case a := <-s.answer:
		return a, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Confirm answers the plan the turn waits on (dropped if none waits).
func (s *chatSession) Confirm(run bool) {
	select {
	case s.confirm <- run:
	default:
	}
}

// Answer answers the turn's question (dropped if none waits).
func (s *chatSession) Answer(text string) {
	select {
	case s.answer <- text:
	default:
	}
}

// offLoopTools need no VM: they run on the turn's goroutine.
var offLoopTools = map[string]bool{"ask_person": true}

// onLoop returns reg with each tool that works on the image wrapped to
// run on the VM's goroutine (through do), with the ToolEnv's VM set there.
// A turn stopped while its tool waits in the queue stops waiting (the tool
// is skipped if it has not started; one that has started sees the
// cancelled context). A tool that panics fails its call, as in
// Registry.Call.
func onLoop(do func(context.Context, func(*vm.VM)) error, reg *agent.Registry) *agent.Registry {
	out := agent.NewRegistry()
	for _, name := range reg.Names() {
		t, _ := reg.Get(name)
		if run := t.Run; run != nil && !offLoopTools[name] {
			t.Run = func(ctx context.Context, env *agent.ToolEnv, args json.RawMessage) (string, error) {
				type result struct {
					out string
					err error
				}
				res := make(chan result, 1)
				err := do(ctx, func(v *vm.VM) {
					defer func() {
						if p := recover(); p != nil {
							res <- result{err: fmt.Errorf("the tool %s failed: internal error: %v", name, p)}
						}
					}()
					e := *env
					e.VM = v
					if e.Personalities == nil {
						e.Personalities = personalitiesOf(v)
					}
					o, err := run(ctx, &e, args)
					res <- result{o, err}
				})
				if err != nil {
					return "", err
				}
				r := <-res
				return r.out, r.err
			}
		}
		out.Add(t)
	}
	return out
}
