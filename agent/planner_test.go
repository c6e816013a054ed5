package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

func jsonArgs(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func planArgs(steps ...string) string { return jsonArgs(map[string]any{"steps": steps}) }

func withdrawProposal() string {
	return jsonArgs(map[string]string{"object": "Account", "selector": "withdraw", "source": withdrawSource, "tests": withdrawTests,
		"explanation": "subtracts n", "call": "local a = Account:clone(); a.balance = 5; return a:withdraw(2).balance"})
}

type plannerRun struct {
	f       *fixture
	p       *Planner
	events  []Event
	asked   []string
	planned [][]string
}

// newPlannerRun makes a planner over the fixture's image, fake LLM and
// resolver, recording its events; plans are approved when approve is true.
func newPlannerRun(t *testing.T, approve bool) *plannerRun {
	f := newFixture(t)
	pr := &plannerRun{f: f}
	env := &ToolEnv{VM: f.s.VM, Resolver: f.r, Ask: func(ctx context.Context, q string) (string, error) {
		pr.asked = append(pr.asked, q)
		return "savings", nil
	}}
	pr.p = &Planner{
		LLM: f.r.LLM, Tools: NewRegistry(BuiltinTools()...), Env: env,
		OnEvent: func(e Event) { pr.events = append(pr.events, e) },
		ConfirmPlan: func(ctx context.Context, steps []string) (bool, error) {
			pr.planned = append(pr.planned, steps)
			return approve, nil
		},
	}
	return pr
}

func (pr *plannerRun) kinds() string {
	var ks []string
	for _, e := range pr.events {
		ks = append(ks, e.Kind)
	}
	return strings.Join(ks, ",")
}

func (pr *plannerRun) observations() []string {
	var out []string
	for _, e := range pr.events {
		if e.Kind == "observation" {
			out = append(out, e.Text)
		}
	}
	return out
}

func auditEntries(t *testing.T, f *fixture) []*image.AuditEntry {
	t.Helper()
	var out []*image.AuditEntry
	if err := f.s.Image.Audit(func(e *image.AuditEntry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkHistory checks that every tool call has its tool message.
func checkHistory(t *testing.T, h []openai.ChatCompletionMessage) {
	t.Helper()
	want := map[string]bool{}
	for _, m := range h {
		if m.Role == openai.ChatMessageRoleSystem {
			t.Fatal("the history holds the system prompt")
		}
		for _, tc := range m.ToolCalls {
			want[tc.ID] = true
		}
		if m.Role == openai.ChatMessageRoleTool {
			if !want[m.ToolCallID] {
				t.Fatalf("tool message for unknown call %q", m.ToolCallID)
			}
			delete(want, m.ToolCallID)
		}
	}
	if len(want) > 0 {
		t.Fatalf("tool calls without results: %v", want)
	}
}

func TestPlannerPlansInspectsProposesAndAnswers(t *testing.T) {
	pr := newPlannerRun(t, true)
	pr.f.r.AutoApprove = true
	pr.f.srv.Script(
		llmtest.ToolCall(ShowPlanTool, planArgs("Inspect Account", "Propose Account:withdraw with tests", "Report")),
		llmtest.ToolCall("inspect_object", `{"name":"Account"}`),
		llmtest.ToolCall(ProposeTool, withdrawProposal()),
		llmtest.Reply("Account now understands withdraw."),
	)
	answer, hist, err := pr.p.Run(context.Background(), nil, "Accounts should support withdraw(n)")
	if err != nil || answer != "Account now understands withdraw." {
		t.Fatalf("answer %q, %v", answer, err)
	}
	if k := pr.kinds(); k != "plan,tool,observation,tool,observation,delta,answer" {
		t.Fatalf("events: %s", k)
	}
	if len(pr.planned) != 1 || len(pr.planned[0]) != 3 || pr.events[0].Text != "1. Inspect Account\n2. Propose Account:withdraw with tests\n3. Report" {
		t.Fatalf("plan: %v %q", pr.planned, pr.events[0].Text)
	}
	obs := pr.observations()
	if !strings.Contains(obs[0], "slot balance = 0") || !strings.Contains(obs[0], "prototypes: Object") {
		t.Fatalf("inspect: %s", obs[0])
	}
	if !strings.HasPrefix(obs[1], "installed Account>>withdraw") {
		t.Fatalf("propose: %s", obs[1])
	}
	// Installed for real, with the agent's provenance; no LLM call needed.
	if got, err := pr.f.eval(t, withdrawCall); err != nil || got != "7" {
		t.Fatalf("withdraw: %q %v", got, err)
	}
	hs, err := pr.f.s.VM.History(pr.f.s.VM.Global("Account"), "withdraw")
	if err != nil || len(hs) != 1 || hs[0].Author != vm.AuthorAgent || !strings.Contains(hs[0].Note, "planner tool call") {
		t.Fatalf("history: %v %+v", err, hs)
	}
	// The conversation: user, then assistant/tool pairs, then the answer.
	checkHistory(t, hist)
	if hist[0].Role != openai.ChatMessageRoleUser || hist[len(hist)-1].Content != answer || len(hist) != 8 {
		t.Fatalf("history: %+v", hist)
	}
	// The model saw the tools, the system prompt and the observations.
	reqs := pr.f.srv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests", len(reqs))
	}
	first := reqs[0].Body
	if first.Messages[0].Role != "system" || !strings.Contains(first.Messages[0].Content, "show_plan") || first.Tools[0].Function.Name != ShowPlanTool {
		t.Fatalf("first request: %+v", first.Messages[0])
	}
	var names []string
	for _, tl := range first.Tools {
		names = append(names, tl.Function.Name)
	}
	if strings.Join(names, ",") != "show_plan,list_objects,inspect_object,read_method,eval_in_sandbox,propose_method,ask_person" {
		t.Fatalf("tools: %v", names)
	}
	last := reqs[3].Body.Messages
	if m := last[len(last)-1]; m.Role != "tool" || !strings.HasPrefix(m.Content, "installed") {
		t.Fatalf("last observation: %+v", m)
	}
	// Audited: every tool call, the plan, the prompts as digests only.
	var kinds []string
	for _, e := range auditEntries(t, pr.f) {
		kinds = append(kinds, e.Kind)
		if strings.Contains(string(e.Data), "self.balance") || strings.Contains(string(e.Data), "support withdraw") {
			t.Errorf("audit entry %d holds raw text: %s", e.Seq, e.Data)
		}
		if e.Kind == "tool" && !strings.Contains(string(e.Data), `"argsSha256"`) {
			t.Errorf("tool entry without the args' hash: %s", e.Data)
		}
	}
	got := strings.Join(kinds, ",")
	want := "prompt,response,plan,prompt,response,tool,prompt,response,sandbox,approval,install,tool,prompt,response"
	if got != want {
		t.Fatalf("audit kinds:\n got %s\nwant %s", got, want)
	}
	if rep, err := pr.f.s.Image.VerifyAudit(); err != nil || !rep.OK {
		t.Fatalf("audit chain: %v %+v", err, rep)
	}
}

func TestPlannerDeclinedPlanRunsNoMutatingTool(t *testing.T) {
	pr := newPlannerRun(t, false)
	pr.f.r.AutoApprove = true
	pr.f.srv.Script(
		// Proposing before any plan is refused.
		llmtest.ToolCall(ProposeTool, withdrawProposal()),
		// The plan and a proposal in one message: the plan is declined, so
		// the proposal is not run.
		llmtest.ToolCalls(llmtest.Call{Name: ShowPlanTool, Args: planArgs("Propose withdraw")}, llmtest.Call{Name: ProposeTool, Args: withdrawProposal()}),
	)
	answer, hist, err := pr.p.Run(context.Background(), nil, "add withdraw")
	if err != nil || answer != AnswerPlanDeclined {
		t.Fatalf("answer %q, %v", answer, err)
	}
	if obs := pr.observations(); len(obs) != 1 || !strings.Contains(obs[0], "call show_plan first") {
		t.Fatalf("observations: %q", obs)
	}
	if got, _ := pr.f.eval(t, `return rawget(Account, "withdraw")`); got != "nil" {
		t.Fatalf("withdraw installed: %s", got)
	}
	for _, e := range auditEntries(t, pr.f) {
		if e.Kind == "sandbox" || e.Kind == "install" {
			t.Fatalf("a mutating tool ran: %s %s", e.Kind, e.Data)
		}
	}
	checkHistory(t, hist)
	if m := hist[len(hist)-2]; m.Role != "tool" || !strings.Contains(m.Content, "declined") {
		t.Fatalf("skipped call: %+v", m)
	}
	if pr.f.srv.Pending() != 0 || len(pr.f.srv.Requests()) != 2 {
		t.Fatalf("requests: %d, pending %d", len(pr.f.srv.Requests()), pr.f.srv.Pending())
	}
	// The conversation goes on after a declined plan.
	pr.f.srv.Script(llmtest.Reply("Nothing changed."))
	answer, hist2, err := pr.p.Run(context.Background(), hist, "ok, never mind")
	if err != nil || answer != "Nothing changed." || len(hist2) != len(hist)+2 {
		t.Fatalf("second turn: %q %v %d", answer, err, len(hist2))
	}
	if n := len(pr.f.srv.Requests()[2].Body.Messages); n != len(hist)+2 {
		t.Fatalf("second turn sent %d messages, want system + history + goal = %d", n, len(hist)+2)
	}
}

func TestPlannerStreamsDeltasBeforeTheWholeEvent(t *testing.T) {
	pr := newPlannerRun(t, true)
	// A step that speaks beside its tool call, then a streamed answer.
	pr.f.srv.Script(
		llmtest.StreamToolCall("list_objects", `{"filter"`, `:"Acc"}`),
		llmtest.Stream("  Account ", "has one ", "slot.\n"),
	)
	answer, _, err := pr.p.Run(context.Background(), nil, "What is Account?")
	if err != nil || answer != "Account has one slot." {
		t.Fatalf("answer %q, %v", answer, err)
	}
	if k := pr.kinds(); k != "tool,observation,delta,delta,delta,answer" {
		t.Fatalf("events: %s", k)
	}
	var pieces []string
	for _, e := range pr.events {
		if e.Kind == "delta" {
			if e.Step != 2 {
				t.Fatalf("delta %q in step %d, want 2", e.Text, e.Step)
			}
			pieces = append(pieces, e.Text)
		}
	}
	if want := []string{"  Account ", "has one ", "slot.\n"}; strings.Join(pieces, "|") != strings.Join(want, "|") {
		t.Fatalf("deltas %q, want %q", pieces, want)
	}
	if strings.TrimSpace(strings.Join(pieces, "")) != answer {
		t.Fatalf("deltas %q do not make the answer %q", pieces, answer)
	}
	last := pr.events[len(pr.events)-1]
	if last.Kind != "answer" || last.Text != answer || last.Step != 2 {
		t.Fatalf("last event %+v", last)
	}
	for i, r := range pr.f.srv.Requests() {
		if !r.Body.Stream {
			t.Fatalf("request %d was not streamed", i)
		}
	}
}

func TestPlannerStepLimit(t *testing.T) {
	pr := newPlannerRun(t, true)
	pr.p.MaxSteps = 3
	for range 3 {
		pr.f.srv.Script(llmtest.ToolCall("list_objects", `{"filter":"Acc"}`))
	}
	answer, hist, err := pr.p.Run(context.Background(), nil, "loop forever")
	if !errors.Is(err, ErrStepLimit) || answer != "" {
		t.Fatalf("answer %q, %v", answer, err)
	}
	last := pr.events[len(pr.events)-1]
	if last.Kind != "error" || last.Text != "step limit reached" {
		t.Fatalf("last event: %+v", last)
	}
	if obs := pr.observations(); len(obs) != 3 || obs[0] != "Account: object, proto Object" {
		t.Fatalf("observations: %q", obs)
	}
	checkHistory(t, hist)
	if len(pr.f.srv.Requests()) != 3 {
		t.Fatalf("%d requests", len(pr.f.srv.Requests()))
	}
}

func TestPlannerBadToolCallsAreObservations(t *testing.T) {
	pr := newPlannerRun(t, true)
	pr.f.srv.Script(
		llmtest.ToolCalls(
			llmtest.Call{Name: "frobnicate", Args: `{}`},
			llmtest.Call{Name: "inspect_object", Args: `{"name": "Account"`},
			llmtest.Call{Name: "read_method", Args: `{"object": "Account"}`},
			llmtest.Call{Name: "inspect_object", Args: `{"name": "Nope"}`},
			llmtest.Call{Name: ShowPlanTool, Args: `{"steps": "not a list"}`},
		),
		llmtest.Reply("I could not do it."),
	)
	answer, hist, err := pr.p.Run(context.Background(), nil, "break things")
	if err != nil || answer != "I could not do it." {
		t.Fatalf("answer %q, %v", answer, err)
	}
	obs := pr.observations()
	wants := []string{`error: there is no tool "frobnicate"`, "error: the arguments of inspect_object are not valid JSON", "error: read_method: missing argument(s): selector", `no global object named "Nope"`, "error: show_plan needs"}
	if len(obs) != len(wants) {
		t.Fatalf("observations: %q", obs)
	}
	for i, w := range wants {
		if !strings.Contains(obs[i], w) {
			t.Errorf("observation %d: %q lacks %q", i, obs[i], w)
		}
	}
	checkHistory(t, hist)
	msgs := pr.f.srv.Requests()[1].Body.Messages
	if n := len(msgs); msgs[n-5].Role != "tool" || !strings.Contains(msgs[n-5].Content, "frobnicate") {
		t.Fatalf("the model did not see the error: %+v", msgs[n-5])
	}
}

func TestRegistryCallNeverPanics(t *testing.T) {
	reg := NewRegistry(Tool{Name: "boom", Run: func(context.Context, *ToolEnv, json.RawMessage) (string, error) { panic("kaboom") }})
	out, err := reg.Call(context.Background(), nil, "boom", "")
	if err == nil || !strings.Contains(out, "internal error: kaboom") {
		t.Fatalf("%q %v", out, err)
	}
	out, err = reg.Call(context.Background(), nil, "nope", "{}")
	if err == nil || !strings.Contains(out, "there is no tool") {
		t.Fatalf("%q %v", out, err)
	}
	// Tools without an image say so.
	out, err = NewRegistry(BuiltinTools()...).Call(context.Background(), &ToolEnv{}, "list_objects", "{}")
	if err == nil || !strings.Contains(out, "no image") {
		t.Fatalf("%q %v", out, err)
	}
}

func TestPlannerAsksThePerson(t *testing.T) {
	pr := newPlannerRun(t, true)
	pr.f.srv.Script(
		llmtest.ToolCall("ask_person", `{"question":"Which account do you mean?"}`),
		llmtest.Func(func(req openai.ChatCompletionRequest) llmtest.Step {
			last := req.Messages[len(req.Messages)-1]
			return llmtest.Reply("heard: " + last.Content)
		}),
	)
	answer, _, err := pr.p.Run(context.Background(), nil, "fix the account")
	if err != nil || answer != "heard: the person answers: savings" {
		t.Fatalf("answer %q, %v", answer, err)
	}
	if len(pr.asked) != 1 || pr.asked[0] != "Which account do you mean?" {
		t.Fatalf("asked: %q", pr.asked)
	}
	// Without anybody to ask, the model is told so.
	pr.p.Env.Ask = nil
	out, _ := pr.p.Tools.Call(context.Background(), pr.p.Env, "ask_person", `{"question":"?"}`)
	if !strings.Contains(out, "nobody") {
		t.Fatalf("no person: %q", out)
	}
}

func TestEvalInSandboxNeverChangesTheImage(t *testing.T) {
	pr := newPlannerRun(t, true)
	reg, env, ctx := pr.p.Tools, pr.p.Env, context.Background()
	code := `Account.balance = 99; Account.extra = "x"; print("hello from the sandbox"); return Account.balance`
	out, err := reg.Call(ctx, env, "eval_in_sandbox", jsonArgs(map[string]any{"code": code, "objects": []string{"Account"}}))
	if err != nil || !strings.Contains(out, "result: 99") || !strings.Contains(out, "hello from the sandbox") || !strings.Contains(out, "nothing persisted") {
		t.Fatalf("%q %v", out, err)
	}
	if got, _ := pr.f.eval(t, `return Account.balance, Account.extra`); got != "0\tnil" {
		t.Fatalf("the host image changed: %s", got)
	}
	// Errors are observations; objects that are not named are absent.
	out, err = reg.Call(ctx, env, "eval_in_sandbox", `{"code": "return Account.balance"}`)
	if err != nil || !strings.HasPrefix(out, "error:") {
		t.Fatalf("%q %v", out, err)
	}
	out, _ = reg.Call(ctx, env, "eval_in_sandbox", `{"code": "return 1 +", "objects": []}`)
	if !strings.HasPrefix(out, "error:") {
		t.Fatalf("%q", out)
	}
	// The sandbox follows the resolver's rules.
	if _, err := pr.f.eval(t, `Policy.allowInProcess = false`); err != nil {
		t.Fatal(err)
	}
	out, err = reg.Call(ctx, env, "eval_in_sandbox", `{"code": "return 1"}`)
	if err == nil || !strings.Contains(out, "forbids the in-process validator") {
		t.Fatalf("%q %v", out, err)
	}
	n := 0
	for _, e := range auditEntries(t, pr.f) {
		if e.Kind == "tool" {
			n++
			if strings.Contains(string(e.Data), "hello") {
				t.Errorf("raw args in the audit log: %s", e.Data)
			}
		}
	}
	if n != 4 {
		t.Fatalf("%d tool audit entries, want 4", n)
	}
}

func TestLookingTools(t *testing.T) {
	pr := newPlannerRun(t, true)
	if _, err := pr.f.eval(t, `function Account:deposit(n) self.balance = self.balance + n; return self end
Savings = Account:clone(); Savings.rate = 2; Savings:uses(Comparable)
function Savings:compare(o) return self.balance - o.balance end`); err != nil {
		t.Fatal(err)
	}
	reg, env, ctx := pr.p.Tools, pr.p.Env, context.Background()
	call := func(name, args string) string {
		t.Helper()
		out, err := reg.Call(ctx, env, name, args)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out
	}
	if out := call("list_objects", `{"filter":"sav"}`); out != "Savings: object, proto Account" {
		t.Fatalf("list: %q", out)
	}
	out := call("inspect_object", `{"name":"Savings"}`)
	for _, w := range []string{"prototypes: Account > Object", "traits: Comparable", "slot rate = 2", "own methods: compare", "inherited methods: ", "deposit"} {
		if !strings.Contains(out, w) {
			t.Errorf("inspect lacks %q:\n%s", w, out)
		}
	}
	if out := call("read_method", `{"object":"Savings","selector":"deposit"}`); !strings.HasPrefix(out, "-- inherited from Account\nfunction Account:deposit(n)") {
		t.Fatalf("read: %q", out)
	}
	if out := call("read_method", `{"object":"Account","selector":"deposit"}`); !strings.HasPrefix(out, "function Account:deposit(n)") {
		t.Fatalf("read: %q", out)
	}
	if out, err := reg.Call(ctx, env, "read_method", `{"object":"Account","selector":"fly"}`); err == nil || !strings.Contains(out, "does not understand fly") {
		t.Fatalf("read missing: %q", out)
	}
	// Looking changes nothing.
	if got, _ := pr.f.eval(t, `return Savings.rate, Account.balance`); got != "2\t0" {
		t.Fatalf("image changed: %s", got)
	}
}
