// Command phoenix is the one Phoenix binary: the CLI over an image (eval,
// run, repl, test, image management, fileout/filein) and the GUI window.
//
// The GUI (gui.go, guiimage.go) needs cgo; a CGO_ENABLED=0 build (the
// static binary the gVisor sandbox runs, bin/phoenix-sandbox) has every
// command but gui (gui_nocgo.go).
//
// It wires the layers and may import every Phoenix package; nothing imports
// it.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/kernelhost"
	"github.com/phoenix-image/phoenix/vm"
)

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

type globals struct {
	image       string
	budget      time.Duration
	logLevel    string
	autoApprove bool
	noSandbox   bool
	// host is what this process runs on (kernelhost.Detect): the console,
	// the storage root of the default image, the VM's clock and entropy.
	host    kernelhost.Host
	cleanup []func()
	// resolver is the agent's resolver of the session opened with
	// openWithAgent (the shell's planner shares its sandbox, policy,
	// approver and audit log).
	resolver *agent.Resolver
}

// main picks the Host once (kernelhost.Detect), runs the command on it and
// leaves through it: the command has closed its image by then.
func main() {
	h := kernelhost.Detect()
	h.PowerOff(runCommand(h, os.Args[1:]))
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "phoenix",
		Short: "Phoenix: a live, persistent object world you grow by talking to it",
		Long: `Phoenix is an image-based live programming environment in the Smalltalk and
Self tradition. An image is a persistent world of prototype objects whose
methods are Lua; every evaluation is one transaction.

Without --image, commands use the default image
(` + bootstrap.DefaultImagePath() + `), created on first use.
Without a command, phoenix opens the window on the image (phoenix gui),
or the repl when there is no display or this build has no GUI.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return setupLogging(g.logLevel)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDefault(cmd.Context(), g)
		},
	}
	root.PersistentFlags().StringVar(&g.image, "image", "", "image directory (default "+bootstrap.DefaultImagePath()+")")
	root.PersistentFlags().DurationVar(&g.budget, "budget", vm.DefaultBudget, "time budget of one evaluation")
	root.PersistentFlags().BoolVar(&g.autoApprove, "auto-approve", false, "install validated agent proposals that the policy allows without asking (core objects and risky changes still wait for a person)")
	root.PersistentFlags().BoolVar(&g.noSandbox, "no-gvisor", false, "do not use the gVisor sandbox (generated code is then only validated if Policy.allowInProcess is true)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", envOr("PHOENIX_LOG", "warn"), "log level: debug, info, warn or error (env PHOENIX_LOG)")
	root.AddCommand(evalCmd(g), runCmd(g), replCmd(g), testCmd(g), imageCmd(g), fileoutCmd(g), fileinCmd(g), historyCmd(g), revertCmd(g),
		approvalsCmd(g), auditCmd(g), shellCmd(g), guiCmd(g), sandboxExecCmd(), sandboxIdleCmd())
	root.AddCommand(serveCmd(g), attachCmd(g))
	addGUIAttach(root) // gui --attach ADDR (guiattach.go)
	root.AddCommand(memoryCmd(g))
	root.AddCommand(bootCmd(g))
	return root
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func setupLogging(level string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("bad --log-level %q: %w", level, err)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})))
	return nil
}

func (g *globals) imagePath() string {
	if g.image != "" {
		return g.image
	}
	return bootstrap.DefaultImageIn(g.hostOrDefault())
}

func (g *globals) hostOrDefault() kernelhost.Host {
	if g.host == nil {
		return kernelhost.Hosted{}
	}
	return g.host
}

func (g *globals) console() kernelhost.Console { return g.hostOrDefault().Console() }

// open opens the selected image; the default image is created on first use.
func (g *globals) open(ctx context.Context) (*bootstrap.Session, error) {
	path := g.imagePath()
	create := g.image == ""
	if !create && !bootstrap.Exists(path) {
		return nil, fmt.Errorf("no image at %s (create one with: phoenix image new %s)", path, path)
	}
	return bootstrap.Open(ctx, path, bootstrap.Options{
		Transcript: g.console().Out, Budget: g.budget, Logger: slog.Default(), Create: create,
		Host: g.hostOrDefault(),
	})
}

// openWithAgent opens the image with the agent answering messages not
// understood (eval, run, repl, shell).
func (g *globals) openWithAgent(ctx context.Context) (*bootstrap.Session, error) {
	s, err := g.open(ctx)
	if err != nil {
		return nil, err
	}
	done, err := g.attachAgent(ctx, s)
	if err != nil {
		s.Close()
		return nil, err
	}
	g.cleanup = append(g.cleanup, done)
	return s, nil
}
