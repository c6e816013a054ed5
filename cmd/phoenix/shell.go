package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chzyer/readline"
	openai "github.com/sashabaranov/go-openai"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/sandbox"
)

func shellCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "shell",
		Short: "Talk to the image: ask questions and request changes in plain language",
		Long: `A conversation with the agent about the image. For each request the agent
shows its plan and asks "Run this plan? [y/N]"; then it inspects objects,
tries code in a throwaway sandbox and proposes methods (with tests), which are
validated in the sandbox, checked against the image's Policy and, where the
policy says so, shown to you for approval. Its steps are shown as
"→ tool {arguments}" with a one-line observation. It may ask you a question.
The conversation is kept across requests; 'exit' (or Ctrl-D) leaves, Ctrl-C
interrupts a running request. With standard input not a terminal, lines
are read without editing, which makes the shell scriptable: every question
(the plan, an approval, the agent's questions) reads the next line.

The agent uses the image's LLM object (or OPENAI_BASE_URL and PHOENIX_MODEL).
Every step is recorded in the audit log (phoenix audit list).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runShell(cmd.Context(), g)
		},
	}
}

func shellHistoryPath() string {
	return filepath.Join(filepath.Dir(bootstrap.DefaultImagePath()), "shell_history")
}

// shellIO is the shell's one input and output: the request prompt, the plan
// confirmation, the agent's questions and approvals all read from it.
type shellIO struct {
	mu          sync.Mutex
	lines       *lineReader
	out         io.Writer
	interactive bool
}

// ask shows prompt and reads one line. Without a terminal the prompt is
// printed too, so that a transcript reads well.
func (s *shellIO) ask(prompt string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.interactive {
		fmt.Fprint(s.out, prompt)
	}
	line, err := s.lines.read(prompt)
	if !s.interactive {
		fmt.Fprintln(s.out)
	}
	return line, err
}

func (s *shellIO) yes(prompt string) (bool, error) {
	line, err := s.ask(prompt)
	if errors.Is(err, readline.ErrInterrupt) || err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

// shellApprover asks for approvals of the agent's proposals in the shell.
type shellApprover struct{ io *shellIO }

func (a *shellApprover) Approve(ctx context.Context, p *agent.Proposal, r *sandbox.Result, d agent.Decision) (bool, string, error) {
	showProposal(a.io.out, p, r, d)
	ok, err := a.io.yes("Install it? [y/N] ")
	return ok, "in the shell", err
}

func runShell(ctx context.Context, g *globals) error {
	s, err := g.openWithAgent(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	r := g.resolver
	if r == nil {
		return errors.New("the agent is not attached to the image")
	}
	if r.LLM == nil {
		return errors.New("no LLM is configured (set OPENAI_BASE_URL and PHOENIX_MODEL, or the image's LLM object's baseURL and model)")
	}
	interactive := term.IsTerminal(int(os.Stdin.Fd()))
	var rl *readline.Instance
	if interactive {
		os.MkdirAll(filepath.Dir(shellHistoryPath()), 0o755)
		rl, err = readline.NewEx(&readline.Config{Prompt: "you> ", HistoryFile: shellHistoryPath(), InterruptPrompt: "^C", EOFPrompt: "exit",
			DisableAutoSaveHistory: true}) // answers to questions are not history
		if err != nil {
			return err
		}
		defer rl.Close()
		fmt.Printf("Phoenix shell on %s. Ask about the image or for a change; 'exit' leaves.\n", s.Path)
	}
	sio := &shellIO{lines: newLineReader(rl), out: os.Stdout, interactive: interactive}
	// Approvals come inline, from the same input as everything else.
	r.Approver = &shellApprover{io: sio}
	env := &agent.ToolEnv{
		VM: s.VM, Resolver: r, Log: slog.Default(), Personalities: personalitiesOf(s.VM),
		Ask: func(ctx context.Context, q string) (string, error) {
			fmt.Fprintf(sio.out, "? %s\n", q)
			ans, err := sio.ask("answer> ")
			if errors.Is(err, readline.ErrInterrupt) || err == io.EOF {
				return "", nil
			}
			return ans, err
		},
	}
	planLLM := agent.Chatter(r.LLM)
	if o := agent.RoleObject(s.VM, "planner"); o != nil {
		if cfg, ok := agent.ConfigOf(s.VM, o); ok {
			planLLM = agent.NewLLMClient(cfg, slog.Default())
		}
	}
	printer := &eventPrinter{w: sio.out}
	pl := &agent.Planner{
		LLM: planLLM, Tools: agent.NewRegistry(append(agent.BuiltinTools(), agent.PersonalityTools()...)...), Env: env,
		OnEvent: printer.print,
		ConfirmPlan: func(ctx context.Context, steps []string) (bool, error) {
			return sio.yes("Run this plan? [y/N] ")
		},
	}
	// The shell handles SIGINT itself: it interrupts the running request.
	signal.Reset(os.Interrupt)
	var history []openai.ChatCompletionMessage
	for {
		line, err := sio.ask("you> ")
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		goal := strings.TrimSpace(line)
		if goal == "" {
			continue
		}
		if goal == "exit" || goal == "quit" {
			return nil
		}
		if rl != nil {
			rl.SaveHistory(goal)
		}
		turnCtx, cancel := context.WithCancel(ctx)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		go func() {
			select {
			case <-sig:
				cancel()
			case <-turnCtx.Done():
			}
		}()
		// Answers and errors are shown as events; the history is kept even
		// after an error, so the conversation goes on.
		_, h, _ := pl.Run(turnCtx, history, goal)
		signal.Stop(sig)
		interrupted := turnCtx.Err() != nil && ctx.Err() == nil
		cancel()
		history = h
		if interrupted {
			fmt.Fprintln(sio.out, "interrupted")
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// eventPrinter prints planner events as they come: the model's text as it
// streams ("delta" events), so that the step's whole "thought" or
// "answer" that follows is not printed again.
type eventPrinter struct {
	w    io.Writer
	open bool // deltas were printed and their step has not ended
	nl   bool // the last delta ended with a newline
}

func (p *eventPrinter) print(e agent.Event) {
	if e.Kind == "delta" {
		if e.Text != "" {
			fmt.Fprint(p.w, e.Text)
			p.open, p.nl = true, strings.HasSuffix(e.Text, "\n")
		}
		return
	}
	if p.open {
		p.open = false
		if !p.nl {
			fmt.Fprintln(p.w)
		}
		switch e.Kind {
		case "thought":
			return // streamed already
		case "answer":
			fmt.Fprintln(p.w)
			return
		}
	}
	printEvent(p.w, e)
}

// printEvent shows one planner event, whole ("delta" events are not
// shown).
func printEvent(w io.Writer, e agent.Event) {
	switch e.Kind {
	case "plan":
		fmt.Fprintf(w, "Plan:\n%s\n", indent(e.Text))
	case "thought":
		fmt.Fprintf(w, "%s\n", e.Text)
	case "tool":
		fmt.Fprintf(w, "→ %s %s\n", e.Tool, oneLine(e.Args, 160))
	case "observation":
		text := strings.TrimSpace(e.Text)
		first, rest, _ := strings.Cut(text, "\n")
		more := ""
		if n := strings.Count(rest, "\n") + 1; rest != "" {
			more = fmt.Sprintf(" (+%d lines)", n)
		}
		fmt.Fprintf(w, "  %s%s\n", oneLine(first, 120), more)
	case "answer":
		fmt.Fprintf(w, "\n%s\n\n", e.Text)
	case "error":
		fmt.Fprintf(w, "error: %s\n", e.Text)
	}
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
