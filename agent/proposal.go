package agent

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/phoenix-image/phoenix/vm/luasrc"
)

// Proposal is a method the LLM proposed for a message not understood.
type Proposal struct {
	Target      string `json:"target"`   // the object that gets the method, e.g. "Account"
	Selector    string `json:"selector"` // e.g. "withdraw"
	Source      string `json:"source"`   // function Account:withdraw(n) ... end
	Tests       string `json:"tests"`    // function ProposalTest:test...() ... end
	Explanation string `json:"explanation,omitempty"`
	Model       string `json:"model,omitempty"`
	Via         string `json:"via"` // "tool call" or "code block"
	// Purpose is what the method was wanted for (the message not
	// understood); the long-term memory keeps it with the method.
	Purpose string `json:"purpose,omitempty"`
}

// ProposeTool is the name of the tool the LLM calls with a proposal.
const ProposeTool = "propose_method"

var fence = regexp.MustCompile("(?s)```[ \t]*(?:lua)?[ \t]*\r?\n(.*?)```")

// ParseProposal extracts a proposal for target:selector from an LLM reply:
// a propose_method tool call, or — for models without tool calling — fenced
// ```lua blocks in plain text that define the method (and optionally
// ProposalTest methods). The method's header is normalised to
// target:selector.
func ParseProposal(content string, toolName, toolArgs string, target, selector string) (*Proposal, error) {
	if toolName == ProposeTool {
		var args struct {
			Source, Tests, Explanation string
		}
		if err := json.Unmarshal([]byte(toolArgs), &args); err != nil {
			return nil, fmt.Errorf("the %s call has malformed arguments: %v", ProposeTool, err)
		}
		src, err := normaliseMethod(args.Source, target, selector)
		if err != nil {
			return nil, err
		}
		tests, _ := extractTests(args.Tests)
		if tests == "" {
			tests = strings.TrimSpace(args.Tests)
		}
		return &Proposal{Target: target, Selector: selector, Source: src, Tests: tests, Explanation: args.Explanation, Via: "tool call"}, nil
	}
	blocks := fence.FindAllStringSubmatch(content, -1)
	if len(blocks) == 0 {
		return nil, fmt.Errorf("the reply has neither a %s tool call nor a ```lua block defining %s:%s", ProposeTool, target, selector)
	}
	var method string
	var tests []string
	var lastErr error
	for _, b := range blocks {
		code := b[1]
		funcs, err := luasrc.Funcs(code)
		if err != nil {
			lastErr = err
			continue
		}
		for _, f := range funcs {
			text := code[f.Start:f.End]
			switch {
			case f.Selector == selector && f.Receiver != "ProposalTest" && method == "":
				method = text
			case f.Receiver == "ProposalTest":
				tests = append(tests, text)
			}
		}
	}
	if method == "" {
		if lastErr != nil {
			return nil, fmt.Errorf("the code block does not parse: %v", lastErr)
		}
		return nil, fmt.Errorf("no code block defines %s:%s", target, selector)
	}
	src, err := normaliseMethod(method, target, selector)
	if err != nil {
		return nil, err
	}
	expl := strings.TrimSpace(fence.ReplaceAllString(content, ""))
	return &Proposal{Target: target, Selector: selector, Source: src, Tests: strings.Join(tests, "\n\n"), Explanation: expl, Via: "code block"}, nil
}

// normaliseMethod checks that src defines selector and rewrites its header
// to target:selector (keeping the body and its lines).
func normaliseMethod(src, target, selector string) (string, error) {
	src = strings.TrimSpace(src)
	_, f, err := luasrc.Expression(src)
	if err != nil {
		return "", fmt.Errorf("the proposed method does not parse: %v", err)
	}
	if f.Selector != "" && f.Selector != selector {
		return "", fmt.Errorf("the proposal defines %q, not %q", f.Selector, selector)
	}
	params := f.Params
	if !f.Method {
		// function(self, n) or function Account.withdraw(self, n): drop self.
		if len(params) == 0 || params[0] != "self" {
			return "", fmt.Errorf("the proposed function does not take self first")
		}
		params = params[1:]
	}
	if f.Method && f.Receiver == target {
		return src, nil
	}
	close := strings.IndexByte(src[f.ParamsStart:], ')')
	if close < 0 {
		return "", fmt.Errorf("the proposed method has no parameter list")
	}
	return luasrc.Header(target, selector, params) + src[f.ParamsStart+close+1:], nil
}

func extractTests(code string) (string, error) {
	funcs, err := luasrc.Funcs(code)
	if err != nil {
		return "", err
	}
	var tests []string
	for _, f := range funcs {
		if f.Receiver == "ProposalTest" {
			tests = append(tests, code[f.Start:f.End])
		}
	}
	return strings.Join(tests, "\n\n"), nil
}
