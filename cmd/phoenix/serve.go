package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

func serveCmd(g *globals) *cobra.Command {
	var addr, tokenFile string
	var allowRemote bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the image over the remote protocol (JSON-RPC 2.0 on loopback, with a token)",
		Long: `Serve the image to 'phoenix attach', 'phoenix gui --attach' and tools over
Phoenix's remote protocol: JSON-RPC 2.0, one JSON object per line, over TCP
(docs/ARCHITECTURE.md, "The remote protocol"). Evaluations from every client
run one at a time on the image, each as one transaction.

A client must present the token held in --token-file. If the file does not
exist, serve creates it with a fresh random token (mode 0600); a file that
group or others may read is refused. The token is never logged.

The address must be loopback unless --allow-remote is given: anyone who
reaches the port and holds the token controls the image. --allow-remote is
meant for a server fenced by something else, such as phoenix inside a QEMU
guest, whose port only the host's loopback forward reaches.

Once listening, serve prints "READY <address>" on standard output. SIGINT
or SIGTERM stops it: connections are closed, and the image is closed
cleanly.`,
		Example: `  phoenix serve --image my.image --addr 127.0.0.1:7070 --token-file ~/.phoenix-token
  phoenix attach 127.0.0.1:7070 --token-file ~/.phoenix-token --eval '1 + 2'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), g, addr, tokenFile, allowRemote)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:7070", "host:port to listen on (loopback unless --allow-remote; port 0 picks a free one)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the token clients must present (created, mode 0600, if absent)")
	cmd.Flags().BoolVar(&allowRemote, "allow-remote", false, "allow listening on a non-loopback address (e.g. 0.0.0.0 inside a QEMU guest reached only through a host-loopback forward)")
	cmd.MarkFlagRequired("token-file")
	return cmd
}

func runServe(ctx context.Context, g *globals, addr, tokenFile string, allowRemote bool) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	token, created, err := remote.EnsureToken(tokenFile)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(os.Stderr, "phoenix: wrote a new token to %s (mode 0600)\n", tokenFile)
	}
	ln, err := remote.Listen(ctx, addr, allowRemote)
	if err != nil {
		return err
	}
	defer ln.Close()

	var backend atomic.Pointer[bootstrap.RemoteBackend]
	path := g.imagePath()
	create := g.image == ""
	if !create && !bootstrap.Exists(path) {
		return fmt.Errorf("no image at %s (create one with: phoenix image new %s)", path, path)
	}
	s, err := bootstrap.Open(ctx, path, bootstrap.Options{
		Budget: g.budget, Logger: slog.Default(), Create: create,
		OnCommit: func(b *vm.Batch) {
			if be := backend.Load(); be != nil {
				be.Committed(b)
			}
		},
	})
	if err != nil {
		return err
	}
	defer s.Close()
	release, err := g.attachAgent(ctx, s)
	if err != nil {
		return err
	}
	defer release()
	// Nobody is at a terminal to ask: proposals wait in the queue, where
	// approvals.approve/reject (or phoenix approvals) decide them.
	g.resolver.Approver = nil

	be := bootstrap.NewRemoteBackend(s, bootstrap.RemoteOptions{Decider: agentDecider{r: g.resolver}, Logger: slog.Default()})
	backend.Store(be)
	defer be.Close()
	srv := &remote.Server{Backend: be, Token: token, Logger: slog.Default(),
		Chat: &serveChat{do: be.Do, resolver: g.resolver}} // the agent's chat runs here, with the server's key and policy
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(g.console().Out, "READY %s\n", ln.Addr())
	slog.Info("serving the image", "image", s.Path, "addr", ln.Addr().String())

	select {
	case <-ctx.Done():
		err = nil
	case err = <-errc:
	}
	srv.Close()
	if errors.Is(err, remote.ErrServerClosed) {
		err = nil
	}
	fmt.Fprintln(g.console().Err, "phoenix: serve stopped; closing the image")
	return err
}

// agentDecider decides queued proposals for the remote backend, and takes
// the approvals pane's preference feedback (bootstrap.RemotePreferences);
// alternatives need the agent's resolver (r).
type agentDecider struct{ r *agent.Resolver }

var _ bootstrap.RemotePreferences = agentDecider{}

func (d agentDecider) Alternatives(ctx context.Context, v *vm.VM, im *image.Image, id string, n int) (*image.Approval, error) {
	if d.r == nil {
		return nil, errors.New("no agent is attached to this server: alternatives need the LLM")
	}
	a, _, err := d.r.AlternativesQueued(ctx, v, id, n, nil)
	return a, err
}

func (agentDecider) Pick(ctx context.Context, v *vm.VM, im *image.Image, id string, k int, by, note string) (*image.Approval, error) {
	return agent.PickQueued(ctx, v, im, id, k, by, note)
}

func (agentDecider) Rate(im *image.Image, id string, score int, comment string) error {
	_, err := agent.RateQueued(im, id, -1, score, comment)
	return err
}

func (agentDecider) Approve(ctx context.Context, v *vm.VM, im *image.Image, id, by, note string) (*image.Approval, error) {
	return agent.ApproveQueued(ctx, v, im, id, by, note)
}

func (agentDecider) Reject(im *image.Image, id, by, note string) (*image.Approval, error) {
	return agent.RejectQueued(im, id, by, note)
}
