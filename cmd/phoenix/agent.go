package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// attachAgent wires the agent into a session: its objects in the image,
// the llm/audit builtins, and the resolver for messages not understood.
// The resolver is kept in g.resolver. The returned function releases the
// sandbox.
func (g *globals) attachAgent(ctx context.Context, s *bootstrap.Session) (func(), error) {
	if err := agent.InstallObjects(ctx, s.VM); err != nil {
		return nil, fmt.Errorf("installing the agent's objects: %w", err)
	}
	agent.Builtins(s.VM, s.Image)
	closePersonalities, err := attachPersonalities(ctx, s.VM)
	if err != nil {
		return nil, err
	}
	r := &agent.Resolver{
		Journal:     s.Image,
		AutoApprove: g.autoApprove,
		InProcess:   sandbox.NewInProcess(),
		Log:         slog.Default(),
	}
	if llmObj := coderObject(s.VM); llmObj != nil {
		if cfg, ok := agent.ConfigOf(s.VM, llmObj); ok {
			r.LLM = agent.NewLLMClient(cfg, slog.Default())
			r.Model = cfg.Model
		}
	}
	lazy := &lazyValidator{}
	if g.hostOrDefault().Kind() == "guest" {
		// No gVisor under QEMU: the in-process validator or nothing.
		r.NoSandboxWhy = "in the QEMU guest there is no gVisor sandbox"
	} else if !g.noSandbox {
		r.Validator = lazy
	}
	if tty := openTTY(); tty != nil {
		r.Approver = &terminalApprover{tty: tty}
	}
	r.Memory, r.MemoryResults = memoryFor(ctx, s)
	s.VM.SetNotUnderstood(r)
	g.resolver = r
	return func() { lazy.Close(); closePersonalities(); r.Memory.Close() }, nil
}

// coderObject is the LLM object that writes methods: a global LLM object
// whose role is "coder", else the LLM prototype itself.
func coderObject(v *vm.VM) *vm.Object {
	if o := agent.RoleObject(v, "coder"); o != nil {
		return o
	}
	return v.Global("LLM")
}

// lazyValidator starts the gVisor sandbox on first use, so that commands
// that never meet a message not understood do not pay for it.
type lazyValidator struct {
	once sync.Once
	v    sandbox.Validator
	err  error
}

func (l *lazyValidator) get() (sandbox.Validator, error) {
	l.once.Do(func() {
		l.v, l.err = sandbox.NewRunsc(sandbox.RunscOptions{Log: slog.Default()})
	})
	return l.v, l.err
}

func (l *lazyValidator) Validate(ctx context.Context, req *sandbox.Request) (*sandbox.Result, error) {
	v, err := l.get()
	if err != nil {
		return nil, fmt.Errorf("the gVisor sandbox is not available: %w", err)
	}
	return v.Validate(ctx, req)
}

func (l *lazyValidator) Boundary() string { return sandbox.BoundaryGVisor }

func (l *lazyValidator) Close() error {
	if l.v != nil {
		return l.v.Close()
	}
	return nil
}

// openTTY returns the controlling terminal when a person is there to ask.
func openTTY() *os.File {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil
	}
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	return f
}

// terminalApprover asks the person at the terminal.
type terminalApprover struct {
	mu  sync.Mutex
	tty *os.File
}

func (a *terminalApprover) Approve(ctx context.Context, p *agent.Proposal, r *sandbox.Result, d agent.Decision) (bool, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.tty
	showProposal(w, p, r, d)
	fmt.Fprint(w, "Install it? [y/N] ")
	line, err := bufio.NewReader(w).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, "", err
	}
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes", "at the terminal", nil
}

// showProposal renders what a person needs to decide on a proposal.
func showProposal(w io.Writer, p *agent.Proposal, r *sandbox.Result, d agent.Decision) {
	fmt.Fprintf(w, "\nThe agent proposes %s>>%s (%s, %s):\n", p.Target, p.Selector, orDash(p.Model), p.Via)
	if p.Explanation != "" {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(p.Explanation, "\n", "\n  "))
	}
	fmt.Fprintf(w, "\n%s\n\nTests:\n%s\n\n", indent(p.Source), indent(p.Tests))
	fmt.Fprintf(w, "Sandbox (%s): %d passed, %d failed; the call gives %s\n", r.Boundary, r.Passed, r.Failed, orDash(r.CallResult))
	fmt.Fprintf(w, "Policy: %s\n", d.Reason)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
