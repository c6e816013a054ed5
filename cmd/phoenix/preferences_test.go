package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/sandbox"
)

// scripted answers prompts from lines, recording what was asked.
func scripted(lines ...string) (func(string) (string, error), *[]string) {
	var asked []string
	return func(prompt string) (string, error) {
		asked = append(asked, prompt)
		if len(lines) == 0 {
			return "", io.EOF
		}
		l := lines[0]
		lines = lines[1:]
		return l, nil
	}, &asked
}

func offer() *agent.Offer {
	p := &agent.Proposal{Target: "Account", Selector: "withdraw", Source: "function Account:withdraw(n) end", Via: "tool call"}
	o := &agent.Offer{Proposal: p, Sandbox: &sandbox.Result{OK: true, Passed: 1, Boundary: "gvisor"}, Decision: agent.Decision{NeedsPerson: true, Reason: "mode always"}}
	o.More = func(ctx context.Context, n int) ([]agent.Alternative, error) {
		var alts []agent.Alternative
		for i := 0; i < n; i++ {
			k := len(o.Alternatives) + 1
			a := agent.Alternative{N: k, Proposal: &agent.Proposal{Target: "Account", Selector: "withdraw", Source: "function Account:withdraw(n) return " + string(rune('0'+k)) + " end"},
				Sandbox: &sandbox.Result{OK: k != 2, Failed: map[bool]int{true: 1}[k == 2], Boundary: "gvisor"}}
			alts = append(alts, a)
			o.Alternatives = append(o.Alternatives, a)
		}
		return alts, nil
	}
	return o
}

func TestChooseRatesThenPicksAnAlternative(t *testing.T) {
	ask, asked := scripted("r", "9", "3", "meh", "a 2", "2", "x", "1", "4", "better")
	var out strings.Builder
	c, err := choose(context.Background(), &out, ask, offer(), "at the terminal")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Approved || c.Pick != 1 || c.Score != 4 || c.Comment != "better" || c.Note != "at the terminal" {
		t.Fatalf("choice %+v", c)
	}
	text := out.String()
	for _, want := range []string{`"9": a rating is 1 to 5`, "Asking the LLM for 2 alternative(s)", "alternative 1: sandbox (gvisor)",
		"alternative 2 cannot be installed", `"x": answer 0 to 2, or n`} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if (*asked)[0] != "Install it? [y/N] (a: alternatives, r: rate) " {
		t.Errorf("first prompt %q", (*asked)[0])
	}
}

func TestChooseNoneAndEOF(t *testing.T) {
	ask, _ := scripted("a", "n", "")
	c, err := choose(context.Background(), io.Discard, ask, offer(), "in the shell")
	if err != nil || c.Approved || c.Score != 0 {
		t.Fatalf("none picked: %+v %v", c, err)
	}
	ask, _ = scripted()
	c, err = choose(context.Background(), io.Discard, ask, offer(), "in the shell")
	if err != nil || c.Approved {
		t.Fatalf("end of input: %+v %v", c, err)
	}
	o := offer()
	o.More = nil
	ask, _ = scripted("a", "y")
	var out strings.Builder
	c, err = choose(context.Background(), &out, ask, o, "x")
	if err != nil || !c.Approved || c.Pick != 0 || !strings.Contains(out.String(), "No LLM is configured") {
		t.Fatalf("without an LLM: %+v %v\n%s", c, err, out.String())
	}
}
