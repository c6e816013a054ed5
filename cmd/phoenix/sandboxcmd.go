package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/sandbox"
)

// sandboxExecCmd is the inside of a validation sandbox: one JSON
// sandbox.Request on stdin, one JSON sandbox.Result on stdout. It exits 0
// whatever the candidate did; a non-zero exit means the sandbox failed.
func sandboxExecCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "sandbox-exec",
		Short:  "Validate one candidate method (JSON request on stdin, JSON result on stdout)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var req sandbox.Request
			dec := json.NewDecoder(os.Stdin)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				return fmt.Errorf("sandbox-exec: reading the request: %w", err)
			}
			ctx := cmd.Context()
			// PHOENIX_SANDBOX_HEAP (bytes) ends a runaway candidate with a
			// reported error before the hard memory rlimit kills us.
			if lim, err := strconv.ParseUint(os.Getenv("PHOENIX_SANDBOX_HEAP"), 10, 64); err == nil && lim > 0 {
				var cancel func()
				ctx, cancel = sandbox.WatchMemory(ctx, lim)
				defer cancel()
			}
			res := sandbox.Run(ctx, &req)
			var ru syscall.Rusage
			if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
				res.MaxRSSKB = ru.Maxrss
			}
			return json.NewEncoder(os.Stdout).Encode(res)
		},
	}
}

// sandboxIdleCmd is the init process of a warm sandbox: it blocks until it
// is killed, while validations run beside it with runsc exec.
func sandboxIdleCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "sandbox-idle",
		Short:  "Block until killed (init process of a warm validation sandbox)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c := make(chan os.Signal, 1)
			signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
			<-c
			return nil
		},
	}
}
