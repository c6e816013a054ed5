package agent

import (
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/vm"
)

// Approval modes stored in the image's Policy object.
const (
	ModeAlways = "always" // every proposal waits for a person (the default)
	ModeRisky  = "risky"  // only risky proposals wait; validated, harmless ones are installed
	ModeAuto   = "auto"   // validated proposals for the objects in Policy.autoApprove are installed
)

// Policy is the governance the image stores in its Policy object.
type Policy struct {
	Mode        string
	AutoApprove map[string]bool // object names
	Core        map[string]bool // objects whose methods only a person may change
	Network     bool            // the sandbox may reach the network (default false; no backend offers it yet)
}

// DefaultCore lists the core objects: changing or removing their methods
// always needs a person.
var DefaultCore = []string{"Object", "Trait", "Lobby", "LLM", "Policy", "AuditLog", "TestCase", "Error", "MessageNotUnderstood", "Message", "Transcript", "Personality", "Personalities", "Memory"}

// LoadPolicy reads the Policy object; a missing or malformed policy is the
// strictest one.
func LoadPolicy(v *vm.VM) *Policy {
	p := &Policy{Mode: ModeAlways, AutoApprove: map[string]bool{}, Core: map[string]bool{}}
	for _, c := range DefaultCore {
		p.Core[c] = true
	}
	o := v.Global("Policy")
	if o == nil {
		return p
	}
	t := o.T()
	switch m := lua.LVAsString(t.RawGetString("mode")); m {
	case ModeAlways, ModeRisky, ModeAuto:
		p.Mode = m
	}
	if a, ok := t.RawGetString("autoApprove").(*lua.LTable); ok {
		a.ForEach(func(k, val lua.LValue) {
			if s, ok := val.(lua.LString); ok {
				p.AutoApprove[string(s)] = true
			} else if ks, ok := k.(lua.LString); ok && lua.LVAsBool(val) {
				p.AutoApprove[string(ks)] = true
			}
		})
	}
	if c, ok := t.RawGetString("core").(*lua.LTable); ok {
		c.ForEach(func(_, val lua.LValue) {
			if s, ok := val.(lua.LString); ok {
				p.Core[string(s)] = true
			}
		})
	}
	p.Network = lua.LVAsBool(t.RawGetString("sandboxNetwork"))
	return p
}

// Risk says why a proposal is risky ("" if it is not).
func Risk(p *Policy, target string, existed bool, source string) string {
	var why []string
	if p.Core[target] {
		why = append(why, "it changes the core object "+target)
	}
	if existed {
		why = append(why, "it replaces an existing method")
	}
	for _, name := range sensitiveNames(p, source) {
		why = append(why, "it refers to "+name)
	}
	return strings.Join(why, "; ")
}

// sensitiveNames finds references to core objects and to functions that can
// escape the object model in a method source.
func sensitiveNames(p *Policy, source string) []string {
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(source, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		words[w] = true
	}
	var out []string
	for name := range p.Core {
		if words[name] {
			out = append(out, name)
		}
	}
	for _, f := range []string{"setfenv", "getfenv", "loadstring", "load", "rawset", "setmetatable", "reflect", "personality"} {
		if words[f] {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// Decision is what the policy says about one validated proposal.
type Decision struct {
	NeedsPerson bool
	Reason      string // why a person is needed, or why it may be installed
}

// Decide applies the policy. autoFlag is --auto-approve: the caller
// pre-approves what the policy allows to be approved automatically, which
// never includes core objects or risky changes.
func (p *Policy) Decide(target string, existed bool, source string, autoFlag bool) Decision {
	risk := Risk(p, target, existed, source)
	switch {
	case p.Core[target]:
		return Decision{true, fmt.Sprintf("%s is a core object: a person must approve (%s)", target, risk)}
	case risk != "":
		return Decision{true, "risky: " + risk}
	case autoFlag:
		return Decision{false, "auto-approved (--auto-approve): a new method on a user object, validated"}
	case p.Mode == ModeRisky:
		return Decision{false, "auto-approved by policy (mode risky): a new method on a user object, validated"}
	case p.Mode == ModeAuto && p.AutoApprove[target]:
		return Decision{false, "auto-approved by policy (mode auto, " + target + " listed)"}
	}
	return Decision{true, "policy mode " + p.Mode + ": a person approves every change"}
}
