package tests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/agent/memory/weaviatetest"
)

// TestMemoryEndToEnd: through the built binary, an installed method is
// remembered with what it was for; a new similar request's prompt carries
// it; `phoenix memory` lists, searches and prunes; the memory survives
// export and import; and the Weaviate backend, chosen in the image, does
// the same against a real weaviate-server.
func TestMemoryEndToEnd(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Embeddings(llmtest.BagOfWords(256))
	home := t.TempDir()
	img := filepath.Join(home, "my.image")
	env := append(agentEnv(home, srv.URL()), "PHOENIX_EMBEDDING_MODEL=fake-embed")
	run := func(args ...string) (string, string, error) { t.Helper(); return runPhoenix(t, env, args...) }
	must := func(args ...string) string {
		t.Helper()
		out, errOut, err := run(args...)
		if err != nil {
			t.Fatalf("phoenix %v: %v\n%s%s", args, err, out, errOut)
		}
		return out
	}
	must("image", "new", img)
	must("eval", "--image", img, "Account = Object:clone(); Account.balance = 0")
	if out := must("memory", "list", "--image", img); !strings.Contains(out, "nothing remembered") {
		t.Fatalf("a new image remembers: %s", out)
	}

	srv.Script(proposal(e2eWithdraw, e2eWithdrawTests))
	if out := must("eval", "--image", img, "--auto-approve", e2eCall); strings.TrimSpace(out) != "7" {
		t.Fatalf("eval printed %q, want 7", out)
	}
	out := must("memory", "list", "--image", img)
	if !strings.Contains(out, "method Account:withdraw") || !strings.Contains(out, "The message withdraw(3) was sent to") {
		t.Fatalf("memory list: %s", out)
	}
	out = must("memory", "search", "--image", img, "take", "money", "out", "with", "withdraw")
	if first, _, _ := strings.Cut(out, "\n"); !strings.Contains(first, "method Account:withdraw") {
		t.Fatalf("memory search: %s", out)
	}

	// A new, similar request: its prompt carries the past method.
	srv.Script(proposal("function Account:withdrawAll()\n  self.balance = 0\n  return self\nend",
		"function ProposalTest:testAll() local a = Account:clone(); a.balance = 3; self:assertEquals(0, a:withdrawAll().balance) end"))
	if out := must("eval", "--image", img, "--auto-approve", "local a = Account:clone(); a.balance = 9; return a:withdrawAll().balance"); strings.TrimSpace(out) != "0" {
		t.Fatalf("second request printed %q", out)
	}
	reqs := srv.Requests()
	prompt := reqs[len(reqs)-1].Body.Messages[1].Content
	if !strings.Contains(prompt, "## Relevant past work") || !strings.Contains(prompt, e2eWithdraw) {
		t.Fatalf("the second prompt lacks the past method:\n%s", prompt)
	}

	// A method a person approves from the queue is remembered too.
	srv.Script(proposal("function Account:deposit(n)\n  self.balance = self.balance + n\n  return self\nend",
		"function ProposalTest:testDeposit() local a = Account:clone(); a.balance = 1; self:assertEquals(3, a:deposit(2).balance) end"))
	if _, errOut, err := run("eval", "--image", img, "local a = Account:clone(); a.balance = 1; return a:deposit(2).balance"); err == nil || !strings.Contains(errOut, "waits for a person's approval as a1") {
		t.Fatalf("expected a queued approval: %v\n%s", err, errOut)
	}
	if out := must("memory", "list", "--image", img); strings.Contains(out, "Account:deposit") {
		t.Fatalf("a queued, unapproved method was remembered: %s", out)
	}
	must("approvals", "approve", "--image", img, "a1")
	if out := must("memory", "list", "--image", img); !strings.Contains(out, "method Account:deposit") || !strings.Contains(out, "The message deposit(2) was sent to") {
		t.Fatalf("the approved method was not remembered: %s", out)
	}

	// Export and import keep the memory.
	exp := filepath.Join(home, "my.export")
	must("image", "export", "--image", img, exp)
	img2 := filepath.Join(home, "copy.image")
	must("image", "import", exp, img2)
	if out := must("memory", "list", "--image", img2, "--kind", "method"); strings.Count(out, "method Account:withdraw") != 2 {
		t.Fatalf("memory after import: %s", out)
	}

	// Prune: refuses to forget everything, names bad input, forgets by kind.
	if _, errOut, err := run("memory", "prune", "--image", img2); err == nil || !strings.Contains(errOut, "refusing to forget everything") {
		t.Fatalf("prune without a filter: %v %s", err, errOut)
	}
	if _, errOut, err := run("memory", "prune", "--image", img2, "--kind", "recipe"); err == nil || !strings.Contains(errOut, `kind "recipe"`) {
		t.Fatalf("prune with a bad kind: %v %s", err, errOut)
	}
	if out := must("memory", "prune", "--image", img2, "--kind", "method"); !strings.Contains(out, "forgot 3 items; 0 remembered") {
		t.Fatalf("prune: %s", out)
	}
	if out := must("memory", "list", "--image", img); strings.Count(out, "method Account:") != 3 {
		t.Fatalf("pruning the copy changed the original: %s", out)
	}

	// The Weaviate backend, chosen by the image's Memory object.
	ws := weaviatetest.Start(t)
	must("eval", "--image", img, `Memory.backend = "weaviate"; Memory.weaviateURL = "`+ws.URL()+`"; Memory.weaviateClass = "E2e"`)
	srv.Script(proposal("function Account:double()\n  return self.balance * 2\nend",
		"function ProposalTest:testDouble() local a = Account:clone(); a.balance = 4; self:assertEquals(8, a:double()) end"))
	if out := must("eval", "--image", img, "--auto-approve", "local a = Account:clone(); a.balance = 21; return a:double()"); strings.TrimSpace(out) != "42" {
		t.Fatalf("double printed %q", out)
	}
	if out := must("memory", "list", "--image", img); !strings.Contains(out, "method Account:double") || strings.Contains(out, "Account:withdraw") {
		t.Fatalf("memory list from Weaviate (only the method remembered there): %s", out)
	}
	out = must("memory", "search", "--image", img, "double", "the", "balance")
	if first, _, _ := strings.Cut(out, "\n"); !strings.Contains(first, "method Account:double") {
		t.Fatalf("memory search in Weaviate: %s", out)
	}
}
