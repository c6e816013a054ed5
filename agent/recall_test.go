package agent

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/agent/memory"
	"github.com/phoenix-image/phoenix/vm"
)

// withMemory gives the fixture's resolver the image's embedded memory,
// with embeddings from the fake server's /v1/embeddings when embed is set
// (configured the way a person would: Memory.embeddingModel) and BM25
// alone otherwise. It returns the number of embedding requests served.
func withMemory(t *testing.T, f *fixture, embed bool) *atomic.Int64 {
	t.Helper()
	var calls atomic.Int64
	ctx := context.Background()
	if embed {
		bow := llmtest.BagOfWords(256)
		f.srv.Embeddings(func(in []string) [][]float32 { calls.Add(1); return bow(in) })
		if _, err := f.s.VM.Eval(ctx, `Memory.embeddingModel = "fake-embed"; LLM.baseURL = "`+f.srv.URL()+`"; LLM.model = "fake-coder"`, vm.EvalOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mc := MemoryConfigOf(f.s.VM)
	var e memory.Embedder
	if emb := EmbedderFor(f.s.VM, f.s.VM.Global("LLM"), mc); emb != nil {
		e = emb
	} else if embed {
		t.Fatal("Memory.embeddingModel is set but no embedder was made")
	}
	m, err := OpenMemory(ctx, mc, f.s.Image, e, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	f.r.Memory = m
	// Unrelated past work that must not reach the prompt.
	if _, err := m.Remember(ctx, memory.Item{Kind: memory.KindMethod, Object: "Stack", Selector: "push",
		Purpose: "put an element on top of the stack", Source: "function Stack:push(x) table.insert(self.items, x) end"}); err != nil {
		t.Fatal(err)
	}
	return &calls
}

func TestResolverPromptCarriesTheRelevantPastMethod(t *testing.T) {
	for _, mode := range []string{"embeddings", "bm25 without an endpoint"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t)
			f.r.AutoApprove = true
			calls := withMemory(t, f, mode == "embeddings")
			f.srv.Script(llmtest.ToolCall(ProposeTool, proposeArgs(withdrawSource, withdrawTests)))
			if got, err := f.eval(t, withdrawCall); err != nil || got != "7" {
				t.Fatalf("first request: %q %v", got, err)
			}
			ctx := context.Background()
			methods, err := f.r.Memory.List(ctx, memory.Filter{Kind: memory.KindMethod, IDs: nil})
			if err != nil {
				t.Fatal(err)
			}
			var remembered *memory.Item
			for i := range methods {
				if methods[i].Object == "Account" && methods[i].Selector == "withdraw" {
					remembered = &methods[i]
				}
			}
			if remembered == nil || !strings.Contains(remembered.Purpose, "withdraw(3)") || !strings.Contains(remembered.Purpose, "subtracts n") ||
				remembered.Source != withdrawSource {
				t.Fatalf("the installed method was not remembered with its purpose: %+v", methods)
			}

			// A new, similar request.
			const allSource = "function Account:withdrawAll()\n  self.balance = 0\n  return self\nend"
			const allTests = "function ProposalTest:testAll()\n  local a = Account:clone(); a.balance = 5\n  self:assertEquals(0, a:withdrawAll().balance)\nend"
			f.srv.Script(llmtest.ToolCall(ProposeTool, proposeArgs(allSource, allTests)))
			if got, err := f.eval(t, `local a = Account:clone(); a.balance = 4; return a:withdrawAll().balance`); err != nil || got != "0" {
				t.Fatalf("second request: %q %v", got, err)
			}
			reqs := f.srv.Requests()
			if len(reqs) != 2 {
				t.Fatalf("%d chat requests", len(reqs))
			}
			if first := reqs[0].Body.Messages[1].Content; strings.Contains(first, "withdraw(n)\n  self.balance") && strings.Contains(first, "Relevant past work") {
				t.Fatalf("the first prompt already had past work:\n%s", first)
			}
			prompt := reqs[1].Body.Messages[1].Content
			i := strings.Index(prompt, "## Relevant past work")
			if i < 0 {
				t.Fatalf("the second prompt has no past work:\n%s", prompt)
			}
			past := prompt[i:]
			if !strings.Contains(past, "The method Account:withdraw, installed for: The message withdraw(3)") || !strings.Contains(past, withdrawSource) {
				t.Fatalf("the past method is not in the prompt:\n%s", past)
			}
			if strings.Contains(past, "Stack:push") {
				t.Fatalf("unrelated past work reached the prompt:\n%s", past)
			}
			if mode == "embeddings" && calls.Load() == 0 {
				t.Fatal("the embeddings endpoint was never asked")
			}
		})
	}
}

func TestPlannerRemembersPlansAndConversationsAndRecallsThem(t *testing.T) {
	f := newFixture(t)
	withMemory(t, f, true)
	p := &Planner{LLM: f.r.LLM, Tools: NewRegistry(BuiltinTools()...), Env: &ToolEnv{VM: f.s.VM, Resolver: f.r}}
	f.srv.Script(
		llmtest.ToolCall(ShowPlanTool, `{"steps":["inspect Account","propose a savings interest method"]}`),
		llmtest.Reply("Account can now add interest to savings."),
	)
	ctx := context.Background()
	if _, _, err := p.Run(ctx, nil, "give Account savings interest"); err != nil {
		t.Fatal(err)
	}
	plans, err := f.r.Memory.List(ctx, memory.Filter{Kind: memory.KindPlan})
	if err != nil || len(plans) != 1 || plans[0].Purpose != "give Account savings interest" || !strings.Contains(plans[0].Source, "2. propose a savings interest method") {
		t.Fatalf("plans remembered: %+v (%v)", plans, err)
	}
	convs, err := f.r.Memory.List(ctx, memory.Filter{Kind: memory.KindConversation})
	if err != nil || len(convs) != 1 || convs[0].Source != "Account can now add interest to savings." {
		t.Fatalf("conversations remembered: %+v (%v)", convs, err)
	}

	f.srv.Script(llmtest.Reply("It is the interest method from before."))
	if _, _, err := p.Run(ctx, nil, "how does Account compute savings interest?"); err != nil {
		t.Fatal(err)
	}
	reqs := f.srv.Requests()
	system := reqs[len(reqs)-1].Body.Messages[0].Content
	if !strings.Contains(system, "## Relevant past work") || !strings.Contains(system, "A plan for: give Account savings interest") ||
		!strings.Contains(system, "The answer: Account can now add interest to savings.") {
		t.Fatalf("the planner's prompt lacks the past plan and conversation:\n%s", system)
	}
	if first := reqs[0].Body.Messages[0].Content; strings.Contains(first, "Relevant past work") {
		t.Fatalf("the first planner prompt had past work:\n%s", first)
	}
}

func TestMemoryConfigurationErrorsAreNamed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.s.VM.Eval(ctx, `Memory.backend = "weaviate"`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenMemory(ctx, MemoryConfigOf(f.s.VM), f.s.Image, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "Memory.weaviateURL is empty") {
		t.Fatalf("weaviate without a URL: %v", err)
	}
	if _, err := f.s.VM.Eval(ctx, `Memory.backend = "redis"`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenMemory(ctx, MemoryConfigOf(f.s.VM), f.s.Image, nil, nil, nil); err == nil || !strings.Contains(err.Error(), `Memory.backend "redis"`) {
		t.Fatalf("unknown backend: %v", err)
	}
}

func TestSelectorWords(t *testing.T) {
	if got := strings.Join(selectorWords("withdrawAll_now"), " "); got != "withdraw all now" {
		t.Fatalf("%q", got)
	}
}

func TestMemoryObjectIsCore(t *testing.T) {
	f := newFixture(t)
	d := LoadPolicy(f.s.VM).Decide("Memory", false, "function Memory:x() end", true)
	if !d.NeedsPerson {
		t.Fatalf("a change to Memory (where the memory lives) goes without a person: %+v", d)
	}
}

func TestEmbeddingModelComesFromMemoryThenLLMThenEnvironment(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v := f.s.VM
	if _, err := v.Eval(ctx, `LLM.baseURL = "http://127.0.0.1:9/v1"`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PHOENIX_EMBEDDING_MODEL", "")
	if e := EmbedderFor(v, v.Global("LLM"), MemoryConfigOf(v)); e != nil {
		t.Fatalf("an embedder with no model configured: %+v", e)
	}
	t.Setenv("PHOENIX_EMBEDDING_MODEL", "env-model")
	if e := EmbedderFor(v, v.Global("LLM"), MemoryConfigOf(v)); e == nil || e.Model != "env-model" {
		t.Fatalf("from the environment: %+v", e)
	}
	if _, err := v.Eval(ctx, `LLM.embeddingModel = "llm-model"`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	if e := EmbedderFor(v, v.Global("LLM"), MemoryConfigOf(v)); e == nil || e.Model != "llm-model" {
		t.Fatalf("from the LLM object: %+v", e)
	}
	if _, err := v.Eval(ctx, `Memory.embeddingModel = "memory-model"`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	if e := EmbedderFor(v, v.Global("LLM"), MemoryConfigOf(v)); e == nil || e.Model != "memory-model" || e.Client.Config().BaseURL != "http://127.0.0.1:9/v1" {
		t.Fatalf("from the Memory object: %+v", e)
	}
}
