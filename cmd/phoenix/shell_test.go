package main

import (
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/agent"
)

func TestEventPrinterStreamsTextOnce(t *testing.T) {
	var b strings.Builder
	p := &eventPrinter{w: &b}
	for _, e := range []agent.Event{
		{Kind: "delta", Text: "Let me ", Step: 1},
		{Kind: "delta", Text: "look.", Step: 1},
		{Kind: "thought", Text: "Let me look.", Step: 1},
		{Kind: "tool", Tool: "list_objects", Args: `{}`, Step: 1},
		{Kind: "observation", Tool: "list_objects", Text: "Account", Step: 1},
		{Kind: "delta", Text: "Account ", Step: 2},
		{Kind: "delta", Text: "is here.", Step: 2},
		{Kind: "answer", Text: "Account is here.", Step: 2},
		{Kind: "answer", Text: "plan declined", Step: 3}, // not streamed: printed whole
	} {
		p.print(e)
	}
	want := "Let me look.\n→ list_objects {}\n  Account\nAccount is here.\n\n\nplan declined\n\n"
	if got := b.String(); got != want {
		t.Fatalf("printed %q, want %q", got, want)
	}
}
