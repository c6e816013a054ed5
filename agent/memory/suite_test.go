package memory

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/agent/llmtest"
)

// fakeEmbedder embeds in process with llmtest's deterministic bag of words
// (the agent's real embedder speaks HTTP to the fake server; see agent).
type fakeEmbedder struct{ calls int }

func (f *fakeEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	f.calls++
	return llmtest.BagOfWords(256)(texts), nil
}

// pastWork is what the suite remembers: methods, a plan and a conversation.
var pastWork = []Item{
	{Kind: KindMethod, Object: "Account", Selector: "withdraw", Purpose: "take money out of an account, refusing to overdraw",
		Source: "function Account:withdraw(n) if n > self.balance then error('insufficient funds') end self.balance = self.balance - n end"},
	{Kind: KindMethod, Object: "Stack", Selector: "push", Purpose: "put an element on top of the stack",
		Source: "function Stack:push(x) table.insert(self.items, x) end"},
	{Kind: KindMethod, Object: "Text", Selector: "reversed", Purpose: "the string written backwards",
		Source: "function Text:reversed() return string.reverse(self.value) end"},
	{Kind: KindPlan, Purpose: "make a queue prototype", Source: "1. clone Object as Queue\n2. add enqueue and dequeue"},
	{Kind: KindConversation, Purpose: "what does Lobby hold?", Source: "the globals: Account, Stack, Text"},
}

// storeSuite is the conformance suite every Store passes. open returns a
// new, empty store (with or without an embedder as its name says).
func storeSuite(t *testing.T, open func(t *testing.T, e Embedder) Store) {
	ctx := context.Background()
	fill := func(t *testing.T, s Store) []Item {
		t.Helper()
		base := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		var out []Item
		for i, it := range pastWork {
			it.Time = base.Add(time.Duration(i) * time.Hour)
			got, err := s.Remember(ctx, it)
			if err != nil {
				t.Fatalf("remember %s: %v", it.Purpose, err)
			}
			if got.ID == "" || !got.Time.Equal(it.Time) {
				t.Fatalf("remembered as %+v", got)
			}
			out = append(out, got)
		}
		return out
	}

	for _, mode := range []string{"bm25", "hybrid"} {
		t.Run("retrieves the relevant past method/"+mode, func(t *testing.T) {
			var e Embedder
			if mode == "hybrid" {
				e = &fakeEmbedder{}
			}
			s := open(t, e)
			fill(t, s)
			hits, err := s.Search(ctx, "Account needs a way to take out money (withdrawal)", 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 || hits[0].Item.Object != "Account" || hits[0].Item.Selector != "withdraw" {
				t.Fatalf("hits %+v, want Account:withdraw first", hits)
			}
			if !strings.Contains(hits[0].Item.Source, "insufficient funds") || hits[0].Score <= 0 {
				t.Fatalf("first hit %+v", hits[0])
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Fatalf("hits not ranked: %+v", hits)
				}
			}
			hits, err = s.Search(ctx, "push an element on a stack", 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 1 || hits[0].Item.Selector != "push" {
				t.Fatalf("stack query: %+v", hits)
			}
			if hits, err := s.Search(ctx, "zebra quantum", 5); err != nil || len(hits) != 0 {
				t.Fatalf("a query sharing no word with anything found %+v (%v)", hits, err)
			}
			if fe, ok := e.(*fakeEmbedder); ok && fe.calls == 0 {
				t.Fatal("the embedder was never asked")
			}
		})
	}

	t.Run("lists newest first and filters", func(t *testing.T) {
		s := open(t, nil)
		items := fill(t, s)
		n, err := s.Count(ctx)
		if err != nil || n != len(pastWork) {
			t.Fatalf("count %d (%v)", n, err)
		}
		all, err := s.List(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(pastWork) || all[0].ID != items[len(items)-1].ID || all[len(all)-1].ID != items[0].ID {
			t.Fatalf("list %+v", all)
		}
		methods, err := s.List(ctx, Filter{Kind: KindMethod})
		if err != nil || len(methods) != 3 {
			t.Fatalf("methods %d (%v)", len(methods), err)
		}
		old, err := s.List(ctx, Filter{OlderThan: items[2].Time})
		if err != nil || len(old) != 2 || old[0].ID != items[1].ID {
			t.Fatalf("older than the third: %+v (%v)", old, err)
		}
		one, err := s.List(ctx, Filter{IDs: []string{items[3].ID}})
		if err != nil || len(one) != 1 || one[0].Kind != KindPlan || one[0].Purpose != pastWork[3].Purpose {
			t.Fatalf("by id: %+v (%v)", one, err)
		}
	})

	t.Run("prunes by kind, age and id", func(t *testing.T) {
		s := open(t, &fakeEmbedder{})
		items := fill(t, s)
		if _, err := s.Prune(ctx, Filter{}); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Fatalf("prune with no filter: %v", err)
		}
		if n, err := s.Prune(ctx, Filter{Kind: KindConversation}); err != nil || n != 1 {
			t.Fatalf("prune conversations: %d (%v)", n, err)
		}
		if n, err := s.Prune(ctx, Filter{Kind: KindMethod, OlderThan: items[1].Time}); err != nil || n != 1 {
			t.Fatalf("prune methods older than the second: %d (%v)", n, err)
		}
		if n, err := s.Prune(ctx, Filter{IDs: []string{items[3].ID}}); err != nil || n != 1 {
			t.Fatalf("prune by id: %d (%v)", n, err)
		}
		left, err := s.List(ctx, Filter{})
		if err != nil || len(left) != 2 || left[0].Selector != "reversed" || left[1].Selector != "push" {
			t.Fatalf("left %+v (%v)", left, err)
		}
		if n, _ := s.Count(ctx); n != 2 {
			t.Fatalf("count after prune %d", n)
		}
		hits, err := s.Search(ctx, "take money out of an account", 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.Item.Selector == "withdraw" {
				t.Fatalf("a pruned item was found: %+v", h)
			}
		}
	})

	t.Run("replaces an item with the same id", func(t *testing.T) {
		s := open(t, nil)
		it, err := s.Remember(ctx, Item{ID: "fixed-1", Kind: KindMethod, Object: "A", Selector: "f", Purpose: "first version"})
		if err != nil {
			t.Fatal(err)
		}
		it.Purpose = "second version with elephants"
		if _, err := s.Remember(ctx, it); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Count(ctx); n != 1 {
			t.Fatalf("count %d after replacing", n)
		}
		hits, err := s.Search(ctx, "elephants", 2)
		if err != nil || len(hits) != 1 || hits[0].Item.ID != "fixed-1" {
			t.Fatalf("search for the new text: %+v (%v)", hits, err)
		}
	})

	t.Run("refuses bad items and names them", func(t *testing.T) {
		s := open(t, nil)
		if _, err := s.Remember(ctx, Item{Kind: "recipe", Purpose: "x"}); err == nil || !strings.Contains(err.Error(), `kind "recipe"`) {
			t.Fatalf("unknown kind: %v", err)
		}
		if _, err := s.Remember(ctx, Item{ID: "bad id", Kind: KindPlan, Purpose: "x"}); err == nil || !strings.Contains(err.Error(), `"bad id"`) {
			t.Fatalf("bad id: %v", err)
		}
		if _, err := s.Remember(ctx, Item{Kind: KindPlan}); err == nil || !strings.Contains(err.Error(), "nothing to remember") {
			t.Fatalf("empty item: %v", err)
		}
		if n, _ := s.Count(ctx); n != 0 {
			t.Fatalf("refused items were stored: %d", n)
		}
	})
}
