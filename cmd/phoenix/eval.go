package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/vm"
)

func evalCmd(g *globals) *cobra.Command {
	var author string
	cmd := &cobra.Command{
		Use:   "eval CODE",
		Short: "Evaluate Lua code in the image as one transaction and print the result",
		Long: `Evaluate CODE as one transaction: it commits if it runs to completion and
otherwise leaves the image untouched. Like the Lua repl, CODE is tried as an
expression first. The printString of each returned value is printed; on an
error the error and its traceback go to stderr and the exit status is 1.
Use - to read CODE from standard input.`,
		Example: `  phoenix eval --image my.image 'Account = Object:clone(); Account.balance = 0'
  phoenix eval --image my.image 'local a = Account:clone(); a:deposit(5); return a.balance'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			code := args[0]
			if code == "-" {
				b, err := readAll(g.console().In)
				if err != nil {
					return err
				}
				code = b
			}
			s, err := g.openWithAgent(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := s.VM.Eval(cmd.Context(), code, vm.EvalOptions{Print: true, Author: vm.Author(author)})
			if err != nil {
				return err
			}
			printResults(g.console().Out, res)
			return nil
		},
	}
	cmd.Flags().StringVar(&author, "author", string(vm.AuthorHuman), "who makes the change (recorded in method history)")
	return cmd
}

func printResults(w io.Writer, res *vm.Result) {
	if len(res.Strings) > 0 {
		fmt.Fprintln(w, strings.Join(res.Strings, "\t"))
	}
}

func readAll(r io.Reader) (string, error) {
	b, err := io.ReadAll(r)
	return string(b), err
}

func runCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run FILE [ARG...]",
		Short: "Run a trusted Lua script against the image (like lua FILE)",
		Long: `Run FILE as one transaction against the image. The script is trusted, like
'lua FILE': it gets the io and os libraries, 'arg' (arg[0] is FILE), and
'require' finds modules next to the script. Globals it assigns become Lobby
slots and persist; functions it stores in objects become methods, which
later run with the image's restricted library.`,
		Args:               cobra.MinimumNArgs(1),
		DisableFlagParsing: false,
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			src, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			s, err := g.openWithAgent(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			env := s.VM.TrustedEnv(file, args[1:])
			var luaArgs []lua.LValue
			for _, a := range args[1:] {
				luaArgs = append(luaArgs, lua.LString(a))
			}
			src = stripShebang(src)
			_, err = s.VM.Eval(cmd.Context(), string(src), vm.EvalOptions{Name: filepath.Base(file), Env: env, NoExpr: true, Args: luaArgs})
			return err
		},
	}
}

// stripShebang blanks a #! first line, keeping line numbers.
func stripShebang(b []byte) []byte {
	if len(b) > 1 && b[0] == '#' && b[1] == '!' {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return b[i:]
		}
		return nil
	}
	return b
}
