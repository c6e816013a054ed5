package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/kernelhost/remote"
)

func attachCmd(g *globals) *cobra.Command {
	var tokenFile, code string
	cmd := &cobra.Command{
		Use:   "attach ADDR",
		Short: "A repl (or one evaluation) on an image served by phoenix serve",
		Long: `Connect to 'phoenix serve' at ADDR (host:port) with the token in
--token-file (which must have mode 0600) and run a repl on the remote image:
each input is one transaction there, tried as an expression first, like
'phoenix repl'. What image code prints (on any client) is shown as it comes;
Ctrl-C interrupts a running evaluation on the server, which rolls back.
With --eval, evaluate CODE once, print the result's printString and exit; on
an error the error and its traceback go to stderr and the exit status is 1,
as with 'phoenix eval'. Use --eval - to read CODE from standard input.`,
		Example: `  phoenix attach 127.0.0.1:7070 --token-file ~/.phoenix-token
  phoenix attach 127.0.0.1:7070 --token-file ~/.phoenix-token --eval 'Account:clone():deposit(5).balance'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := remote.ReadToken(tokenFile)
			if err != nil {
				return err
			}
			evalOnce := cmd.Flags().Changed("eval")
			if code == "-" {
				if code, err = readAll(os.Stdin); err != nil {
					return err
				}
			}
			var outMu sync.Mutex
			c, err := remote.Dial(cmd.Context(), args[0], token, remote.ClientOptions{
				Name: "phoenix attach",
				Notify: func(n remote.Notification) {
					if t, ok := n.Transcript(); ok {
						outMu.Lock()
						os.Stdout.WriteString(t.Text)
						outMu.Unlock()
					}
				},
			})
			if err != nil {
				return fmt.Errorf("attach %s: %w", args[0], err)
			}
			defer c.Close()
			if evalOnce {
				return remoteEval(cmd.Context(), c, code)
			}
			return runRemoteRepl(cmd.Context(), c, args[0])
		},
	}
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the server's token (mode 0600)")
	cmd.Flags().StringVar(&code, "eval", "", "evaluate CODE once and exit (- reads it from standard input)")
	cmd.MarkFlagRequired("token-file")
	return cmd
}

// remoteEval evaluates code once, printing like phoenix eval.
func remoteEval(ctx context.Context, c *remote.Client, code string) error {
	res, err := c.Eval(ctx, code)
	if err != nil {
		if printRemoteError(err) {
			return exitError{1}
		}
		return err
	}
	if len(res.Values) > 0 {
		fmt.Println(strings.Join(res.Values, "\t"))
	}
	return nil
}

// printRemoteError prints an evaluation error as local eval does; false
// for other errors (which the caller returns).
func printRemoteError(err error) bool {
	var re *remote.Error
	if errors.As(err, &re) {
		if d, ok := re.Detail(); ok {
			fmt.Fprintln(os.Stderr, d.Detail)
			return true
		}
	}
	return false
}

// runRemoteRepl is phoenix repl over a client.
func runRemoteRepl(ctx context.Context, c *remote.Client, addr string) error {
	return replLoop(ctx, replSession{
		banner: fmt.Sprintf("Phoenix on %s (%s, remote). Each input is one transaction; Ctrl-D leaves.", c.Server.Image, addr),
		eval: func(ctx context.Context, code string) (bool, error) {
			res, err := c.Eval(ctx, code)
			var re *remote.Error
			if errors.As(err, &re) {
				if d, ok := re.Detail(); ok && d.Kind == "CompileError" && d.Incomplete {
					return true, nil
				}
			}
			switch {
			case errors.Is(err, context.Canceled):
				fmt.Fprintln(os.Stderr, "Interrupted: evaluation interrupted and rolled back")
			case err != nil:
				if !printRemoteError(err) {
					return false, err // the connection is gone
				}
			case len(res.Values) > 0:
				fmt.Println(strings.Join(res.Values, "\t"))
			}
			return false, nil
		},
	})
}
