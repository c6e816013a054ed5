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
	interactive := term.IsTerminal(int(os.Stdin.Fd()))
	var rl *readline.Instance
	if interactive {
		os.MkdirAll(filepath.Dir(historyPath()), 0o755)
		rl, err = readline.NewEx(&readline.Config{Prompt: "phoenix> ", HistoryFile: historyPath(), InterruptPrompt: "^C", EOFPrompt: "exit"})
		if err != nil {
			return err
		}
		defer rl.Close()
		fmt.Printf("Phoenix on %s. Each input is one transaction; Ctrl-D leaves.\n", s.Path)
	}
	lines := newLineReader(rl)
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
		res, err := s.VM.Eval(evalCtx, code, vm.EvalOptions{Name: "repl", Print: true})
		signal.Stop(sig)
		cancel()
		var ve *vm.Error
		if errors.As(err, &ve) && ve.Kind == "CompileError" && ve.Incomplete {
			continue // read more lines
		}
		buf = nil
		if err != nil {
			if errors.As(err, &ve) {
				fmt.Fprintln(os.Stderr, ve.Detail())
			} else {
				fmt.Fprintln(os.Stderr, err)
			}
			continue
		}
		printResults(res)
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
