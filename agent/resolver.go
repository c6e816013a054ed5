package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/agent/memory"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// Chatter is what the resolver needs from an LLM (LLMClient implements it).
type Chatter interface {
	Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error)
}

// Journal is where the agent records what it did and what waits for a
// person. Both survive the rollback of the evaluation that wrote them.
// *image.Image implements it.
type Journal interface {
	AppendAudit(kind, actor, subject string, data any) (*image.AuditEntry, error)
	PutApproval(a *image.Approval) (*image.Approval, error)
	GetApproval(id string) (*image.Approval, error)
	DecideApproval(id, status, by, note string) (*image.Approval, error)
}

// Approver asks a person, at a terminal or in the GUI, to approve a
// proposal. It returns approved and an optional note.
type Approver interface {
	Approve(ctx context.Context, p *Proposal, r *sandbox.Result, d Decision) (bool, string, error)
}

// Resolver implements vm.NotUnderstood: it asks the LLM for the missing
// method and its tests, validates them in the sandbox, applies the policy,
// gets a person's approval when needed, installs the method with its
// provenance and lets the VM re-send the message.
type Resolver struct {
	LLM       Chatter // nil: no LLM configured
	Model     string  // for provenance and the audit log
	Validator sandbox.Validator
	// InProcess is the weaker validator, used only when Validator is nil
	// and the image's policy allows it (Policy.allowInProcess = true).
	InProcess sandbox.Validator
	// NoSandboxWhy, if set, says why there is no gVisor sandbox (in the
	// QEMU guest, say); it leads the refusal when the policy forbids the
	// in-process validator.
	NoSandboxWhy string
	Journal      Journal
	Approver     Approver // nil: nobody to ask now; proposals that need a person are queued
	AutoApprove  bool     // --auto-approve
	Log          *slog.Logger
	// Memory is the long-term memory (nil: none): similar past work goes
	// into the prompt, installed methods are remembered. MemoryResults is
	// how many past items a prompt gets (0: DefaultMemoryResults;
	// negative: none).
	Memory        memory.Store
	MemoryResults int
}

var _ vm.NotUnderstood = (*Resolver)(nil)

// ProposalRecord is what an approval stores: everything a person needs to
// decide, and what installing it later needs.
type ProposalRecord struct {
	Proposal Proposal        `json:"proposal"`
	Sandbox  *sandbox.Result `json:"sandbox"`
	Decision string          `json:"decision"`
	Call     string          `json:"call"`
	// Alternatives the person asked for (preferences.go); Picked is the
	// one approved (0: the proposal itself).
	Alternatives []Alternative `json:"alternatives,omitempty"`
	Picked       int           `json:"picked,omitempty"`
}

// Resolve handles one message not understood, inside the evaluation's
// transaction.
func (r *Resolver) Resolve(ctx context.Context, v *vm.VM, req *vm.DNURequest) (bool, string, error) {
	target := targetOf(req.Receiver)
	if target == nil {
		return false, "the receiver has no named prototype to add the method to", nil
	}
	tname := target.Name()
	subject := tname + ">>" + req.Selector
	if r.LLM == nil {
		r.audit("dnu", "agent", subject, map[string]any{"outcome": "no LLM configured"})
		return false, "no LLM is configured (set OPENAI_BASE_URL and PHOENIX_MODEL, or configure an LLM object)", nil
	}
	call, callOK := reproduceCall(v, req)
	ctxText := describeContext(v, target, req, call)
	ctxText += preferencesSection(r.preferenceStore(), tname) // "The person's preferences" (preferences.go)
	purpose, _, _ := strings.Cut(ctxText, "\n")
	ctxText += r.recallFor(ctx, purpose, req.Selector)
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: systemPrompt},
		{Role: openai.ChatMessageRoleUser, Content: ctxText},
	}
	r.audit("prompt", "agent", subject, promptDigest(msgs, r.Model))
	start := time.Now()
	resp, err := r.LLM.Chat(ctx, ChatRequest{Messages: msgs, Tools: []openai.Tool{proposeToolSpec}})
	if err != nil {
		r.audit("llm-error", "agent", subject, map[string]any{"error": err.Error()})
		return false, "the LLM failed: " + err.Error(), nil
	}
	toolName, toolArgs := "", ""
	if len(resp.ToolCalls) > 0 {
		toolName, toolArgs = resp.ToolCalls[0].Function.Name, resp.ToolCalls[0].Function.Arguments
	}
	p, err := ParseProposal(resp.Content, toolName, toolArgs, tname, req.Selector)
	r.audit("response", "agent", subject, map[string]any{
		"tool": toolName, "sha256": sha(resp.Content + toolArgs), "bytes": len(resp.Content) + len(toolArgs),
		"promptTokens": resp.Usage.PromptTokens, "completionTokens": resp.Usage.CompletionTokens,
		"latencyMs": time.Since(start).Milliseconds(), "parsed": err == nil,
	})
	if err != nil {
		return false, "the LLM's proposal is unusable: " + err.Error(), nil
	}
	p.Model = r.Model
	p.Purpose = purpose
	if !callOK {
		call = ""
	}
	ok, reason := r.Consider(ctx, v, target, p, call)
	return ok, reason, nil
}

// Consider runs a proposal for target through the rest of the pipeline —
// validation in the sandbox, the policy, a person's approval or the queue —
// and installs it (as one transaction by the agent, or as part of the
// running one). call, if not "", reproduces a use of the method and must
// run without error in the sandbox. It returns whether the method was
// installed and, if not, why; every step is audited.
func (r *Resolver) Consider(ctx context.Context, v *vm.VM, target *vm.Object, p *Proposal, call string) (installed bool, reason string) {
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	tname := target.Name()
	subject := tname + ">>" + p.Selector

	// Validate in the sandbox.
	val, err := r.Sandbox(v)
	if err != nil {
		r.audit("sandbox", "system", subject, map[string]any{"outcome": "unavailable", "error": err.Error()})
		return false, err.Error()
	}
	var ctxSrc string
	var pol *Policy
	var existed bool
	err = v.Do(ctx, vm.TxOptions{Rollback: true}, func() error { // read only
		var err error
		if ctxSrc, err = image.FileoutSource(v, tname); err != nil {
			return err
		}
		pol = LoadPolicy(v)
		_, existed = v.MethodSource(target, p.Selector)
		return nil
	})
	if err != nil {
		return false, "cannot prepare the sandbox: " + err.Error()
	}
	sreq := &sandbox.Request{Context: ctxSrc, Receiver: tname, Selector: p.Selector, Source: p.Source, Tests: p.Tests, Call: call}
	res, err := val.Validate(ctx, sreq)
	if err != nil {
		r.audit("sandbox", "system", subject, map[string]any{"boundary": val.Boundary(), "error": err.Error()})
		return false, "the sandbox failed: " + err.Error()
	}
	r.audit("sandbox", "system", subject, sandboxSummary(res))
	if !res.OK {
		return false, "validation failed: " + failureText(res)
	}

	// Policy and approval.
	d := pol.Decide(tname, existed, p.Source, r.AutoApprove)
	rec := ProposalRecord{Proposal: *p, Sandbox: res, Decision: d.Reason, Call: sreq.Call}
	approvedBy := "policy"
	note := d.Reason
	if d.NeedsPerson {
		if r.Approver == nil {
			a, err := r.queue(rec, subject)
			if err != nil {
				return false, "cannot queue the proposal for approval: " + err.Error()
			}
			return false, fmt.Sprintf("the proposal waits for a person's approval as %s (%s); see phoenix approvals show %s", a.ID, d.Reason, a.ID)
		}
		ok, why, picked, pres, err := r.askPerson(ctx, v, target, p, res, d, call)
		p, res = picked, pres
		if err != nil {
			return false, "asking for approval failed: " + err.Error()
		}
		r.audit("approval", "human", subject, map[string]any{"approved": ok, "note": why})
		if !ok {
			return false, "the person rejected the proposal" + suffix(why)
		}
		approvedBy, note = "human", why
	} else {
		r.audit("approval", "system", subject, map[string]any{"approved": true, "reason": d.Reason})
	}
	err = v.Do(ctx, vm.TxOptions{Author: vm.AuthorAgent}, func() error {
		return Install(v, target, p, approvedBy, note)
	})
	if err != nil {
		return false, "installing the method failed: " + err.Error()
	}
	r.audit("install", "agent", subject, map[string]any{"sha256": sha(p.Source), "approvedBy": approvedBy, "boundary": res.Boundary})
	r.rememberMethod(ctx, p)
	log.Info("agent installed a method", "method", subject, "approvedBy", approvedBy)
	return true, ""
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// Install defines the proposal's method with the agent's provenance.
func Install(v *vm.VM, target *vm.Object, p *Proposal, approvedBy, note string) error {
	prov := fmt.Sprintf("proposed by %s via %s; approved by %s", orUnknown(p.Model), p.Via, approvedBy)
	if note != "" {
		prov += " (" + note + ")"
	}
	return v.DefineMethodBy(target, p.Selector, p.Source, vm.AuthorAgent, prov)
}

func orUnknown(s string) string {
	if s == "" {
		return "an LLM"
	}
	return s
}

func (r *Resolver) queue(rec ProposalRecord, subject string) (*image.Approval, error) {
	if r.Journal == nil {
		return nil, errors.New("no approval queue")
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	a, err := r.Journal.PutApproval(&image.Approval{Status: "pending", Object: rec.Proposal.Target, Selector: rec.Proposal.Selector, Data: data})
	if err != nil {
		return nil, err
	}
	r.audit("approval", "system", subject, map[string]any{"queued": a.ID, "reason": rec.Decision})
	return a, nil
}

// Sandbox returns the validator for generated code: the configured one
// (gVisor), else the in-process one if the image's policy allows it
// (Policy.allowInProcess), else an error saying why there is none.
func (r *Resolver) Sandbox(v *vm.VM) (sandbox.Validator, error) {
	if r.Validator != nil {
		return r.Validator, nil
	}
	if r.InProcess != nil {
		if o := v.Global("Policy"); o != nil && lua.LVAsBool(o.T().RawGetString("allowInProcess")) {
			return r.InProcess, nil
		}
	}
	if r.NoSandboxWhy != "" {
		return nil, fmt.Errorf("%s, so agent installs are refused: the policy forbids the in-process validator for generated code (set Policy.allowInProcess = true to allow it)", r.NoSandboxWhy)
	}
	return nil, errors.New("no gVisor sandbox is available, and the policy forbids the in-process validator for generated code (Policy.allowInProcess)")
}

func (r *Resolver) audit(kind, actor, subject string, data any) {
	if r.Journal == nil {
		return
	}
	if _, err := r.Journal.AppendAudit(kind, actor, subject, data); err != nil {
		log := r.Log
		if log == nil {
			log = slog.Default()
		}
		log.Error("audit log append failed", "kind", kind, "err", err)
	}
}

// targetOf is the object that gets the method: the receiver if it is
// named, else its nearest named prototype.
func targetOf(o *vm.Object) *vm.Object {
	for p := o; p != nil; p = p.Proto() {
		if p.Name() != "" {
			return p
		}
	}
	return nil
}

// reproduceCall writes the original send as Lua, if the receiver and the
// arguments can be written down.
func reproduceCall(v *vm.VM, req *vm.DNURequest) (string, bool) {
	var args []string
	for _, a := range req.Args {
		s, ok := image.LuaLiteral(v, a)
		if !ok {
			return "", false
		}
		args = append(args, s)
	}
	send := fmt.Sprintf(":%s(%s)", req.Selector, strings.Join(args, ", "))
	o := req.Receiver
	if o.Name() != "" && v.Global(o.Name()) == o {
		return "return " + o.Name() + send, true
	}
	target := targetOf(o)
	var sb strings.Builder
	fmt.Fprintf(&sb, "local r = %s:clone()\n", target.Name())
	for p := o; p != nil && p != target; p = p.Proto() {
		if p != o {
			return "", false // intermediate unnamed prototypes: give up
		}
	}
	for _, k := range o.SlotNames() {
		ks, ok := k.(lua.LString)
		if !ok {
			return "", false
		}
		val, ok := image.LuaLiteral(v, o.T().RawGet(k))
		if !ok {
			return "", false
		}
		fmt.Fprintf(&sb, "r[%q] = %s\n", string(ks), val)
	}
	sb.WriteString("return r" + send)
	return sb.String(), true
}

func sandboxSummary(r *sandbox.Result) map[string]any {
	return map[string]any{"boundary": r.Boundary, "ok": r.OK, "passed": r.Passed, "failed": r.Failed,
		"compileError": r.CompileError, "callError": r.CallError, "error": r.Error, "ms": r.Duration.Milliseconds()}
}

func failureText(r *sandbox.Result) string {
	switch {
	case r.Error != "":
		return r.Error
	case r.CompileError != "":
		return "the method does not compile: " + r.CompileError
	case r.Failed > 0:
		for _, t := range r.Tests {
			if t.Status != "pass" {
				return fmt.Sprintf("%d of %d tests failed; %s: %s", r.Failed, r.Passed+r.Failed, t.Name, t.Message)
			}
		}
	case r.Passed == 0:
		return "the proposal came without tests"
	case r.CallError != "":
		return "the original call fails with it: " + r.CallError
	}
	return "not accepted"
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// promptDigest is what the audit log keeps of a prompt: its hash and size,
// never its text (which may hold data from the image) or any secret.
func promptDigest(msgs []openai.ChatCompletionMessage, model string) map[string]any {
	var sb strings.Builder
	for _, m := range msgs {
		sb.WriteString(m.Role)
		sb.WriteString("\n")
		sb.WriteString(m.Content)
		sb.WriteString("\n")
	}
	return map[string]any{"sha256": sha(sb.String()), "bytes": sb.Len(), "messages": len(msgs), "model": model}
}
