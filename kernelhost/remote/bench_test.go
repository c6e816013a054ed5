package remote_test

import (
	"context"
	"testing"
)

// BenchmarkRemoteEvalLoopback is one remote evaluation of a trivial
// expression over loopback TCP: the client's frame, the server's decode,
// the hop to the VM's goroutine, one transaction (nothing to commit), the
// printString and the response (issue 5 of 5: target < 1 ms median).
func BenchmarkRemoteEvalLoopback(b *testing.B) {
	f := serve(b, options{})
	c := f.dial(b, nil)
	ctx := context.Background()
	if res, err := c.Eval(ctx, "1 + 2"); err != nil || res.Values[0] != "3" {
		b.Fatalf("eval: %v %v", res, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Eval(ctx, "1 + 2"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemoteEvalCommitLoopback is a remote evaluation that writes a
// slot: the same path plus a durable (synced) Pebble commit.
func BenchmarkRemoteEvalCommitLoopback(b *testing.B) {
	f := serve(b, options{})
	c := f.dial(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Eval(ctx, "Account.balance = Account.balance + 1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemoteInspectLoopback is what one refresh of the attached
// window's Inspector costs: "inspect" of an object with two slots (a
// rolled-back read, the printStrings of the object and its entries).
func BenchmarkRemoteInspectLoopback(b *testing.B) {
	f := serve(b, options{})
	c := f.dial(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if in, err := c.Inspect(ctx, "Account"); err != nil || len(in.Entries) != 2 {
			b.Fatalf("inspect: %+v %v", in, err)
		}
	}
}

// BenchmarkRemoteSendersLoopback is the attached browser's Senders over
// the genesis image plus the fixture: every method of the Lobby's objects
// and their traits parsed on the server.
func BenchmarkRemoteSendersLoopback(b *testing.B) {
	f := serve(b, options{})
	c := f.dial(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Senders(ctx, "deposit"); err != nil {
			b.Fatal(err)
		}
	}
}
