//go:build !cgo

package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
)

// errNoGUI is what the static (sandbox) build answers to phoenix gui.
var errNoGUI = errors.New("this phoenix was built without the GUI (CGO_ENABLED=0); use bin/phoenix from make build")

func guiCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "gui",
		Short: "Open the Phoenix window (not in this build: it has no cgo)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errNoGUI
		},
	}
}

// runDefault is phoenix without a command: this build has no window, so
// the repl.
func runDefault(ctx context.Context, g *globals) error {
	return runRepl(ctx, g)
}
