package tests

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// benchDNU times a message not understood through to the installed
// method's result: the fake LLM answers at once, so this is everything but
// the model — context, prompt, parsing, validation in gVisor, policy,
// install, re-send. Each evaluation rolls back, so every iteration sees the
// message not understood again.
func benchDNU(b *testing.B, pool int) {
	ctx := context.Background()
	dir := b.TempDir()
	s, err := bootstrap.NewImage(ctx, filepath.Join(dir, "b.image"), bootstrap.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := agent.InstallObjects(ctx, s.VM); err != nil {
		b.Fatal(err)
	}
	if _, err := s.VM.Eval(ctx, `Account = Object:clone(); Account.balance = 0`, vm.EvalOptions{}); err != nil {
		b.Fatal(err)
	}
	val, err := sandbox.NewRunsc(sandbox.RunscOptions{Phoenix: benchPhoenix(b), Pool: pool})
	if err != nil {
		b.Fatalf("the gVisor sandbox is required: %v", err)
	}
	defer val.Close()
	srv := llmtest.NewServer(b)
	r := &agent.Resolver{
		LLM:   agent.NewLLMClient(agent.LLMConfig{BaseURL: srv.URL(), Model: "bench", Retries: -1}, nil),
		Model: "bench", Validator: val, Journal: s.Image, AutoApprove: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	s.VM.SetNotUnderstood(r)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		srv.Script(proposal(e2eWithdraw, e2eWithdrawTests))
		res, err := s.VM.Eval(ctx, e2eCall, vm.EvalOptions{Rollback: true, Print: true})
		if err != nil || res.Strings[0] != "7" {
			b.Fatalf("iteration %d: %v %v", i, err, res)
		}
	}
}

// benchPhoenix is a static phoenix binary: the e2e one when TestMain built
// it, else one built now.
func benchPhoenix(b *testing.B) string {
	if _, err := os.Stat(phoenixBin); err == nil {
		return phoenixBin
	}
	b.Fatal("phoenix binary missing")
	return ""
}

func BenchmarkDNUToResultWarm(b *testing.B) { benchDNU(b, 1) }
func BenchmarkDNUToResultCold(b *testing.B) { benchDNU(b, -1) }
