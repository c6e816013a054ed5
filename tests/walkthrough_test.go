package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/sandbox"
)

// The seed's Chapter 14, scripted: the request, its plan, the steps.
const (
	walkthroughRequest = "Emulate a Debian environment, install the cowsay package, and then create a new, " +
		"persistent prototype that makes the cow say a random joke about operating systems."
	cowJokerSpeak = `function CowJoker:speak()
  local r = Personalities.debian:run("shuf -n1 /usr/share/phoenix/os-jokes.txt | cowsay")
  if not r.ok then error("cowsay failed in the Debian personality: " .. r.stderr) end
  return r.stdout
end`
	cowJokerTests = `function ProposalTest:testSpeakSaysSomething()
  local said = CowJoker:speak()
  self:assertEquals("string", type(said))
  self:assert(#said > 0)
end`
)

// personalityEnv is agentEnv plus the cache that holds runsc and the Debian
// rootfs (the tests give phoenix a private HOME).
func personalityEnv(t testing.TB, home, url string) []string {
	t.Helper()
	cache, err := sandbox.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.ResolveRootfs(sandbox.DebianRootfs); err != nil {
		t.Fatalf("the Debian personality is required: %v", err)
	}
	return append(agentEnv(home, url), "XDG_CACHE_HOME="+filepath.Dir(cache))
}

// cowSays is what the cow's speech bubble says, its lines joined.
func cowSays(out string) string {
	var words []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimRight(l, " ")
		if len(l) < 4 {
			continue
		}
		open, end := l[:2], l[len(l)-2:]
		if (open == "< " || open == "| " || open == "/ " || open == "\\ ") && (end == " >" || end == " |" || end == " \\" || end == " /") {
			words = append(words, strings.Fields(l[2:len(l)-2])...)
		}
	}
	return strings.Join(words, " ")
}

func osJokes(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join(moduleRoot(), "scripts", "personality", "os-jokes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var jokes []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			jokes = append(jokes, l)
		}
	}
	return jokes
}

// TestWalkthrough is Chapter 14 end to end through the built binary: the
// fake LLM plans; the Debian personality starts under runsc; apt reports
// cowsay installed (it is pre-installed in the cached rootfs: there is no
// network); cowsay runs; the agent creates CowJoker and proposes speak,
// which is validated in the gVisor sandbox (where the personality is
// simulated) and approved by the person; in a fresh process the cow says a
// joke from the Debian userland.
func TestWalkthrough(t *testing.T) {
	srv := llmtest.NewServer(t)
	home := t.TempDir()
	img := filepath.Join(home, "walk.image")
	env := personalityEnv(t, home, srv.URL())
	if out, errOut, err := runPhoenix(t, env, "image", "new", img); err != nil {
		t.Fatalf("image new: %v\n%s%s", err, out, errOut)
	}
	srv.Script(
		llmtest.ToolCall(agent.ShowPlanTool, shellJSON(map[string]any{"steps": []string{
			"Start the Debian personality",
			"Install cowsay in it with apt-get",
			"Try cowsay with a joke about operating systems",
			"Create the CowJoker prototype",
			"Propose CowJoker:speak, which runs cowsay with a random OS joke in the Debian personality",
		}})),
		llmtest.ToolCall(agent.PersonalityStartTool, `{"name":"debian"}`),
		llmtest.ToolCall(agent.PersonalityRunTool, `{"name":"debian","command":"apt-get install -y cowsay"}`),
		llmtest.ToolCall(agent.PersonalityRunTool, `{"name":"debian","command":"shuf -n1 /usr/share/phoenix/os-jokes.txt | cowsay"}`),
		llmtest.ToolCall(agent.CreatePrototypeTool, `{"name":"CowJoker","description":"makes the cow say a random joke about operating systems"}`),
		llmtest.ToolCall(agent.ProposeTool, shellJSON(map[string]string{
			"object": "CowJoker", "selector": "speak", "source": cowJokerSpeak, "tests": cowJokerTests,
			"explanation": "Runs cowsay with a random line of the Debian personality's OS jokes and returns the cow.",
			"call":        "return CowJoker:speak()",
		})),
		llmtest.Reply("CowJoker:speak() now makes the cow say a random joke about operating systems."),
	)
	cmd := exec.Command(phoenixBin, "shell", "--image", img)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(walkthroughRequest + "\ny\ny\nexit\n")
	var out, errb stringsBuilder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("shell: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	for _, want := range []string{
		"Run this plan? [y/N]",
		"→ personality_start",
		"→ personality_run",
		"→ create_prototype",
		"The agent proposes CowJoker>>speak",
		"Sandbox (gvisor): 1 passed, 0 failed; the call gives [simulated: personality debian would run: shuf -n1",
		"Personalities", // the policy names the core object: a person must approve
		"Install it? [y/N]",
		"installed CowJoker>>speak",
		"now makes the cow say",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the shell's output lacks %q", want)
		}
	}
	// Every tool's result came back to the model as an observation.
	var observations []string
	reqs := srv.Requests()
	for _, m := range reqs[len(reqs)-1].Body.Messages {
		if m.Role == "tool" {
			observations = append(observations, m.Content)
		}
	}
	if len(observations) != 6 {
		t.Fatalf("%d observations reached the model, want 6: %q", len(observations), observations)
	}
	for i, want := range []string{
		"the person approved the plan",
		"personality debian started",
		"cowsay is already the newest version",
		"(oo)",
		"created CowJoker",
		"installed CowJoker>>speak",
	} {
		if !strings.Contains(observations[i], want) {
			t.Errorf("observation %d lacks %q:\n%s", i+1, want, observations[i])
		}
	}
	if !strings.Contains(observations[1], "Debian GNU/Linux 12 (bookworm)") || !strings.Contains(observations[1], "no network") {
		t.Errorf("the start observation: %s", observations[1])
	}
	if t.Failed() {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}

	// A fresh process: the prototype persisted, and the cow says a joke
	// from the Debian userland.
	said, errOut, err := runPhoenix(t, env, "eval", "--image", img, "return CowJoker:speak()")
	if err != nil {
		t.Fatalf("CowJoker:speak(): %v\n%s%s", err, said, errOut)
	}
	if !strings.Contains(said, "(oo)") || !strings.Contains(said, "^__^") {
		t.Fatalf("no cow:\n%s\n%s", said, errOut)
	}
	joke, found := cowSays(said), false
	for _, j := range osJokes(t) {
		found = found || j == joke
	}
	if !found {
		t.Errorf("the cow says %q, which is not one of the OS jokes:\n%s", joke, said)
	}
	t.Logf("the cow, in a fresh process:\n%s", said)
	hist, _, err := runPhoenix(t, env, "history", "--image", img, "CowJoker", "speak")
	if err != nil || !strings.Contains(hist, "defined by agent") {
		t.Errorf("history: %v\n%s", err, hist)
	}
}
