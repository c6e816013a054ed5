package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/chzyer/readline"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/kernelhost"
	"github.com/phoenix-image/phoenix/vm"
)

func replCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "repl",
		Short: "Read-eval-print loop on the image; each input is one transaction",
		Long: `An interactive loop on the image. Each complete input is one transaction,
tried as an expression first, so '1 + 2' prints 3. An incomplete input
(an open 'function ... ' without 'end') continues on the next line.
Ctrl-C interrupts a running evaluation, which rolls back; at the prompt it
clears the line. Ctrl-D (or 'exit') leaves. History is kept in
` + historyPath() + `.
With standard input not a terminal, lines are read without prompts, which
makes the repl scriptable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRepl(cmd.Context(), g)
		},
	}
}

func historyPath() string {
	return filepath.Join(filepath.Dir(bootstrap.DefaultImagePath()), "repl_history")
}

func runRepl(ctx context.Context, g *globals) error {
	s, err := g.openWithAgent(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	con := g.console()
	return replLoop(ctx, replSession{
		banner:  fmt.Sprintf("Phoenix on %s. Each input is one transaction; Ctrl-D leaves.", s.Path),
		history: historyPath(),
		console: con,
		eval: func(ctx context.Context, code string) (bool, error) {
			res, err := s.VM.Eval(ctx, code, vm.EvalOptions{Name: "repl", Print: true})
			var ve *vm.Error
			switch {
			case errors.As(err, &ve) && ve.Kind == "CompileError" && ve.Incomplete:
				return true, nil
			case errors.As(err, &ve):
				fmt.Fprintln(con.Err, ve.Detail())
			case err != nil:
				fmt.Fprintln(con.Err, err)
			default:
				printResults(con.Out, res)
			}
			return false, nil
		},
	})
}

// replSession is what differs between the repl on a local image and the
// one on a remote image (attach).
type replSession struct {
	banner  string // printed first on a terminal
	history string // the history file on a terminal; "" keeps none
	// console is where the repl reads and prints (default the process's
	// stdio; the local repl passes its Host's console).
	console kernelhost.Console
	// eval evaluates one complete input under ctx (cancelled by Ctrl-C)
	// and prints its results or its error. incomplete asks for more
	// lines; an error ends the repl.
	eval func(ctx context.Context, code string) (incomplete bool, err error)
}

// replLoop reads inputs (with readline on a terminal, plainly otherwise,
// which makes the repl scriptable), joins continuation lines until an
// input is complete and evaluates it; Ctrl-C interrupts a running
// evaluation and clears the line at the prompt; Ctrl-D or exit leaves.
func replLoop(ctx context.Context, rs replSession) error {
	con := rs.console
	if con.In == nil {
		con = kernelhost.Hosted{}.Console()
	}
	var rl *readline.Instance
	if in, ok := con.In.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
		cfg := &readline.Config{Prompt: "phoenix> ", InterruptPrompt: "^C", EOFPrompt: "exit",
			Stdin: readline.NewCancelableStdin(in), Stdout: con.Out, Stderr: con.Err}
		if rs.history != "" {
			os.MkdirAll(filepath.Dir(rs.history), 0o755)
			cfg.HistoryFile = rs.history
		}
		var err error
		if rl, err = readline.NewEx(cfg); err != nil {
			return err
		}
		defer rl.Close()
		fmt.Fprintln(con.Out, rs.banner)
	}
	lines := &lineReader{rl: rl, in: con.In}
	// The repl handles SIGINT itself: it interrupts the running evaluation.
	signal.Reset(os.Interrupt)
	var buf []string
	for {
		prompt := "phoenix> "
		if len(buf) > 0 {
			prompt = "     ..> "
		}
		line, err := lines.read(prompt)
		if errors.Is(err, readline.ErrInterrupt) {
			buf = nil
			continue
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(buf) == 0 && (strings.TrimSpace(line) == "exit" || strings.TrimSpace(line) == "quit") {
			return nil
		}
		buf = append(buf, line)
		code := strings.Join(buf, "\n")
		if strings.TrimSpace(code) == "" {
			buf = nil
			continue
		}
		evalCtx, cancel := context.WithCancel(ctx)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		go func() {
			select {
			case <-sig:
				cancel()
			case <-evalCtx.Done():
			}
		}()
		incomplete, err := rs.eval(evalCtx, code)
		signal.Stop(sig)
		cancel()
		if err != nil {
			return err
		}
		if !incomplete {
			buf = nil
		}
	}
}

// lineReader reads lines from readline on a terminal, or plainly otherwise.
type lineReader struct {
	rl  *readline.Instance
	buf []byte
	in  io.Reader
}

func newLineReader(rl *readline.Instance) *lineReader { return &lineReader{rl: rl, in: os.Stdin} }

func (r *lineReader) read(prompt string) (string, error) {
	if r.rl != nil {
		r.rl.SetPrompt(prompt)
		return r.rl.Readline()
	}
	for {
		if i := strings.IndexByte(string(r.buf), '\n'); i >= 0 {
			line := string(r.buf[:i])
			r.buf = r.buf[i+1:]
			return line, nil
		}
		chunk := make([]byte, 4096)
		n, err := r.in.Read(chunk)
		r.buf = append(r.buf, chunk[:n]...)
		if err != nil {
			if len(r.buf) > 0 {
				line := string(r.buf)
				r.buf = nil
				return line, nil
			}
			return "", err
		}
	}
}
