package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
	"github.com/sashabaranov/go-openai/jsonschema"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// Tool is one thing the planner's model may do. Run gets the arguments as
// the model sent them (valid JSON) and returns compact text for the model
// to read; an error is reported to the model as an observation too.
type Tool struct {
	Name, Description string
	Parameters        jsonschema.Definition
	Run               func(ctx context.Context, env *ToolEnv, args json.RawMessage) (string, error)
	// Mutates: the tool can change the image, so the planner runs it only
	// after the person has approved the plan.
	Mutates bool
}

// ToolEnv is what tools work on.
type ToolEnv struct {
	VM       *vm.VM
	Resolver *Resolver // the sandbox, policy, approval and audit log; nil: none of them
	// Ask puts a question to the person and returns the answer; nil: nobody
	// to ask.
	Ask func(ctx context.Context, question string) (string, error)
	Log *slog.Logger
	// Personalities runs commands in the image's environment personalities
	// (personality.go); nil: none in this session.
	Personalities PersonalityRunner
}

func (env *ToolEnv) log() *slog.Logger {
	if env != nil && env.Log != nil {
		return env.Log
	}
	return slog.Default()
}

// audit writes to the resolver's journal, if there is one.
func (env *ToolEnv) audit(kind, actor, subject string, data any) {
	if env == nil || env.Resolver == nil {
		return
	}
	env.Resolver.audit(kind, actor, subject, data)
}

// Registry holds the tools the planner offers, in order.
type Registry struct {
	tools []Tool
	index map[string]int
}

// NewRegistry makes a registry; a later tool of the same name replaces an
// earlier one.
func NewRegistry(tools ...Tool) *Registry {
	r := &Registry{index: map[string]int{}}
	for _, t := range tools {
		r.Add(t)
	}
	return r
}

// Add adds (or replaces) a tool.
func (r *Registry) Add(t Tool) {
	if i, ok := r.index[t.Name]; ok {
		r.tools[i] = t
		return
	}
	r.index[t.Name] = len(r.tools)
	r.tools = append(r.tools, t)
}

// Get returns the named tool.
func (r *Registry) Get(name string) (Tool, bool) {
	i, ok := r.index[name]
	if !ok {
		return Tool{}, false
	}
	return r.tools[i], true
}

// Names lists the tools' names in order.
func (r *Registry) Names() []string {
	out := make([]string, len(r.tools))
	for i, t := range r.tools {
		out[i] = t.Name
	}
	return out
}

// Specs describes the tools for a chat request.
func (r *Registry) Specs() []openai.Tool {
	out := make([]openai.Tool, 0, len(r.tools))
	for _, t := range r.tools {
		out = append(out, toolSpec(t.Name, t.Description, t.Parameters))
	}
	return out
}

func toolSpec(name, desc string, params jsonschema.Definition) openai.Tool {
	return openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: name, Description: desc, Parameters: params}}
}

// MaxToolResult caps what one tool call returns to the model.
const MaxToolResult = 8000

// Call runs the named tool with args (JSON text, "" meaning {}). It never
// panics: an unknown tool, malformed arguments, a failure or a panic of the
// tool come back as an error whose text (also the returned string) is the
// observation for the model. Every call is audited as kind "tool" with the
// arguments' hash and size, never their text.
func (r *Registry) Call(ctx context.Context, env *ToolEnv, name string, args string) (out string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the tool %s failed: internal error: %v", name, p)
		}
		if err != nil {
			out = "error: " + err.Error()
		}
		out = capText(out, MaxToolResult)
		env.audit("tool", "agent", name, map[string]any{
			"tool": name, "argsSha256": sha(args), "argsBytes": len(args),
			"resultBytes": len(out), "ok": err == nil,
		})
		env.log().Debug("planner tool call", "tool", name, "argsBytes", len(args), "resultBytes", len(out), "err", err)
	}()
	t, ok := r.Get(name)
	if !ok {
		return "", fmt.Errorf("there is no tool %q; the tools are %s", name, strings.Join(r.Names(), ", "))
	}
	if strings.TrimSpace(args) == "" {
		args = "{}"
	}
	if !json.Valid([]byte(args)) {
		return "", fmt.Errorf("the arguments of %s are not valid JSON: %s", name, capText(args, 200))
	}
	if err := checkRequired(t.Parameters, args); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return t.Run(ctx, env, json.RawMessage(args))
}

// checkRequired checks that args is an object with the schema's required
// properties.
func checkRequired(def jsonschema.Definition, args string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(args), &m); err != nil {
		return errors.New("the arguments must be a JSON object")
	}
	var missing []string
	for _, k := range def.Required {
		if v, ok := m[k]; !ok || string(v) == "null" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing argument(s): %s", strings.Join(missing, ", "))
	}
	return nil
}

func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n[%d more bytes cut]", len(s)-cut)
}

func decodeArgs(args json.RawMessage, into any) error {
	if err := json.Unmarshal(args, into); err != nil {
		return fmt.Errorf("malformed arguments: %v", err)
	}
	return nil
}

var (
	strProp = func(desc string) jsonschema.Definition {
		return jsonschema.Definition{Type: jsonschema.String, Description: desc}
	}
	strList = func(desc string) jsonschema.Definition {
		return jsonschema.Definition{Type: jsonschema.Array, Items: &jsonschema.Definition{Type: jsonschema.String}, Description: desc}
	}
)

// BuiltinTools are the tools over the image: looking (list_objects,
// inspect_object, read_method), trying code in a throwaway image
// (eval_in_sandbox), proposing a method (propose_method, the only one that
// mutates) and asking the person (ask_person).
func BuiltinTools() []Tool {
	return []Tool{
		{
			Name:        "list_objects",
			Description: "List the image's globals (the Lobby's slots) with their kind and prototype.",
			Parameters: jsonschema.Definition{Type: jsonschema.Object, Properties: map[string]jsonschema.Definition{
				"filter": strProp("only names containing this text (case-insensitive); optional"),
			}},
			Run: listObjects,
		},
		{
			Name:        "inspect_object",
			Description: "Reflect on an object: its prototype chain, traits, slots with short values, own and inherited method names.",
			Parameters: jsonschema.Definition{Type: jsonschema.Object, Properties: map[string]jsonschema.Definition{
				"name": strProp("the object's global name, e.g. Account"),
			}, Required: []string{"name"}},
			Run: inspectObject,
		},
		{
			Name:        "read_method",
			Description: "The source of a method the object understands (its own, from a trait or from a prototype).",
			Parameters: jsonschema.Definition{Type: jsonschema.Object, Properties: map[string]jsonschema.Definition{
				"object":   strProp("the object's global name"),
				"selector": strProp("the method's selector, e.g. deposit"),
			}, Required: []string{"object", "selector"}},
			Run: readMethod,
		},
		{
			Name: "eval_in_sandbox",
			Description: "Evaluate Lua code in a throwaway copy of the named objects (never in the image itself) and see its result " +
				"and what it printed. Use it to try things; nothing it does persists.",
			Parameters: jsonschema.Definition{Type: jsonschema.Object, Properties: map[string]jsonschema.Definition{
				"code":    strProp("Lua code; an expression or statements ending with return"),
				"objects": strList("global names of the objects the code needs (their prototypes and traits come along)"),
			}, Required: []string{"code"}},
			Run: evalInSandbox,
		},
		{
			Name: ProposeTool,
			Description: "Propose a method (new or changed) with tests. It is validated in a sandbox, checked against the image's " +
				"policy, maybe shown to the person, and installed if accepted. The result says what happened.",
			Parameters: jsonschema.Definition{Type: jsonschema.Object, Properties: map[string]jsonschema.Definition{
				"object":      strProp("the global name of the object that gets the method, e.g. Account"),
				"selector":    strProp("the method's selector, e.g. withdraw"),
				"source":      strProp("the method, e.g. function Account:withdraw(n) ... end"),
				"tests":       strProp("test methods on ProposalTest: function ProposalTest:testX() ... end"),
				"explanation": strProp("one or two sentences on what the method does"),
				"call":        strProp("optional Lua that uses the method and returns a result, run in the sandbox"),
			}, Required: []string{"object", "selector", "source", "tests"}},
			Run:     proposeMethod,
			Mutates: true,
		},
		{
			Name:        "ask_person",
			Description: "Ask the person a clarifying question and get the answer.",
			Parameters: jsonschema.Definition{Type: jsonschema.Object, Properties: map[string]jsonschema.Definition{
				"question": strProp("one short question"),
			}, Required: []string{"question"}},
			Run: askPerson,
		},
	}
}

// look runs fn in a transaction that is always rolled back: reading the
// image through Go loads objects, and nothing a tool reads may persist.
func look(ctx context.Context, env *ToolEnv, fn func(v *vm.VM) (string, error)) (string, error) {
	if env == nil || env.VM == nil {
		return "", errors.New("no image is open")
	}
	var out string
	err := env.VM.Do(ctx, vm.TxOptions{Rollback: true}, func() error {
		var err error
		out, err = fn(env.VM)
		return err
	})
	return out, err
}

// objectNamed finds a global object (or the Lobby).
func objectNamed(v *vm.VM, name string) (*vm.Object, error) {
	name = strings.TrimSpace(name)
	if name == "Lobby" {
		return v.Lobby(), nil
	}
	if o := v.Global(name); o != nil {
		return o, nil
	}
	if val := v.Lobby().T().RawGetString(name); val != lua.LNil {
		return nil, fmt.Errorf("%s is a %s, not an object", name, val.Type())
	}
	return nil, fmt.Errorf("there is no global object named %q (list_objects lists them)", name)
}

// shortValue renders a slot value without running image code: objects by
// name, other values as the repl prints them, cut to n bytes.
func shortValue(v *vm.VM, val lua.LValue, n int) string {
	var s string
	if o := v.ObjectOf(val); o != nil && o.Kind() != vm.KindTable {
		s = o.DisplayName()
	} else if str, ok := val.(lua.LString); ok {
		s = fmt.Sprintf("%q", string(str))
	} else {
		s, _ = v.PrintString(val)
	}
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

func listObjects(ctx context.Context, env *ToolEnv, args json.RawMessage) (string, error) {
	var a struct{ Filter string }
	if err := decodeArgs(args, &a); err != nil {
		return "", err
	}
	filter := strings.ToLower(strings.TrimSpace(a.Filter))
	return look(ctx, env, func(v *vm.VM) (string, error) {
		lobby := v.Lobby()
		var lines []string
		for _, k := range lobby.SlotNames() {
			name := k.String()
			if filter != "" && !strings.Contains(strings.ToLower(name), filter) {
				continue
			}
			val := lobby.T().RawGet(k)
			o := v.ObjectOf(val)
			switch {
			case o != nil && o.Kind() != vm.KindTable:
				line := fmt.Sprintf("%s: %s", name, o.Kind())
				if p := o.Proto(); p != nil {
					line += ", proto " + p.DisplayName()
				}
				if o.OID() != 0 && o.OID() < vm.FirstFreeOID {
					line += " (kernel)"
				}
				lines = append(lines, line)
			default:
				lines = append(lines, fmt.Sprintf("%s: %s = %s", name, val.Type(), shortValue(v, val, 60)))
			}
		}
		for _, sel := range lobby.MethodNames() {
			if filter == "" || strings.Contains(strings.ToLower(sel), filter) {
				lines = append(lines, sel+": function")
			}
		}
		if len(lines) == 0 {
			return "no globals match", nil
		}
		return strings.Join(lines, "\n"), nil
	})
}

func inspectObject(ctx context.Context, env *ToolEnv, args json.RawMessage) (string, error) {
	var a struct{ Name string }
	if err := decodeArgs(args, &a); err != nil {
		return "", err
	}
	return look(ctx, env, func(v *vm.VM) (string, error) {
		o, err := objectNamed(v, a.Name)
		if err != nil {
			return "", err
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s: %s", o.DisplayName(), o.Kind())
		if o.OID() != 0 && o.OID() < vm.FirstFreeOID {
			sb.WriteString(" (kernel object)")
		}
		sb.WriteString("\n")
		var chain []string
		for p := o.Proto(); p != nil; p = p.Proto() {
			chain = append(chain, p.DisplayName())
		}
		if len(chain) > 0 {
			fmt.Fprintf(&sb, "prototypes: %s\n", strings.Join(chain, " > "))
		}
		if ts := o.TraitObjects(); len(ts) > 0 {
			var names []string
			for _, t := range ts {
				names = append(names, t.DisplayName())
			}
			fmt.Fprintf(&sb, "traits: %s\n", strings.Join(names, ", "))
		}
		if cs := o.Conflicts(); len(cs) > 0 {
			var sels []string
			for sel, from := range cs {
				sels = append(sels, sel+" ("+strings.Join(from, ", ")+")")
			}
			sort.Strings(sels)
			fmt.Fprintf(&sb, "trait conflicts: %s\n", strings.Join(sels, "; "))
		}
		if o != v.Lobby() {
			slots := o.SlotNames()
			if len(slots) == 0 {
				sb.WriteString("slots: none\n")
			}
			for i, k := range slots {
				if i == 40 {
					fmt.Fprintf(&sb, "... %d more slots\n", len(slots)-i)
					break
				}
				fmt.Fprintf(&sb, "slot %s = %s\n", k.String(), shortValue(v, o.T().RawGet(k), 80))
			}
		}
		own := o.MethodNames()
		fmt.Fprintf(&sb, "own methods: %s\n", listOrNone(own))
		ownSet := map[string]bool{}
		for _, s := range own {
			ownSet[s] = true
		}
		var inherited []string
		for _, s := range v.AllMethodNames(o) {
			if !ownSet[s] {
				inherited = append(inherited, s)
			}
		}
		fmt.Fprintf(&sb, "inherited methods: %s", listOrNone(inherited))
		return sb.String(), nil
	})
}

func listOrNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

func readMethod(ctx context.Context, env *ToolEnv, args json.RawMessage) (string, error) {
	var a struct{ Object, Selector string }
	if err := decodeArgs(args, &a); err != nil {
		return "", err
	}
	return look(ctx, env, func(v *vm.VM) (string, error) {
		o, err := objectNamed(v, a.Object)
		if err != nil {
			return "", err
		}
		if src, ok := v.MethodSource(o, a.Selector); ok {
			return src, nil
		}
		fn, from := v.Lookup(o, a.Selector)
		if _, isFn := fn.(*lua.LFunction); !isFn || from == nil {
			return "", fmt.Errorf("%s does not understand %s", o.DisplayName(), a.Selector)
		}
		if src, ok := v.MethodSource(from, a.Selector); ok {
			return fmt.Sprintf("-- inherited from %s\n%s", from.DisplayName(), src), nil
		}
		return fmt.Sprintf("%s>>%s is a primitive of %s (no Lua source)", o.DisplayName(), a.Selector, from.DisplayName()), nil
	})
}

// The sandbox runs a candidate method before the call, so eval_in_sandbox
// gives it a harmless one on the test object the sandbox makes.
const (
	sandboxEvalReceiver = "ProposalTest"
	sandboxEvalSelector = "sandboxEval"
	sandboxEvalSource   = "function ProposalTest:sandboxEval() end"
)

func evalInSandbox(ctx context.Context, env *ToolEnv, args json.RawMessage) (string, error) {
	var a struct {
		Code    string
		Objects []string
	}
	if err := decodeArgs(args, &a); err != nil {
		return "", err
	}
	if env == nil || env.VM == nil {
		return "", errors.New("no image is open")
	}
	if env.Resolver == nil {
		return "", errors.New("no sandbox is configured")
	}
	val, err := env.Resolver.Sandbox(env.VM)
	if err != nil {
		return "", err
	}
	var names []string
	for _, n := range a.Objects {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	ctxSrc, err := look(ctx, env, func(v *vm.VM) (string, error) {
		for _, n := range names {
			if v.Global(n) == nil {
				return "", fmt.Errorf("there is no global object named %q", n)
			}
		}
		if len(names) == 0 {
			return "", nil
		}
		return image.FileoutSource(v, names...)
	})
	if err != nil {
		return "", err
	}
	res, err := val.Validate(ctx, &sandbox.Request{
		Context: ctxSrc, Receiver: sandboxEvalReceiver, Selector: sandboxEvalSelector, Source: sandboxEvalSource, Call: a.Code,
	})
	if err != nil {
		return "", fmt.Errorf("the sandbox failed: %v", err)
	}
	var sb strings.Builder
	switch {
	case res.Error != "":
		fmt.Fprintf(&sb, "sandbox error: %s", res.Error)
	case res.CompileError != "":
		fmt.Fprintf(&sb, "sandbox error: %s", res.CompileError)
	case res.CallError != "":
		fmt.Fprintf(&sb, "error: %s", res.CallError)
	case res.CallResult == "":
		sb.WriteString("ok (no result)")
	default:
		fmt.Fprintf(&sb, "result: %s", res.CallResult)
	}
	if out := strings.TrimRight(res.Output, "\n"); out != "" {
		fmt.Fprintf(&sb, "\nprinted:\n%s", capText(out, 2000))
	}
	fmt.Fprintf(&sb, "\n(%s; nothing persisted)", res.Boundary)
	return sb.String(), nil
}

func proposeMethod(ctx context.Context, env *ToolEnv, args json.RawMessage) (string, error) {
	var a struct {
		Object, Selector, Call string
	}
	if err := decodeArgs(args, &a); err != nil {
		return "", err
	}
	if env == nil || env.VM == nil {
		return "", errors.New("no image is open")
	}
	r := env.Resolver
	if r == nil {
		return "", errors.New("no sandbox, policy or approval is configured; nothing can be installed")
	}
	var target *vm.Object
	var p *Proposal
	_, err := look(ctx, env, func(v *vm.VM) (string, error) {
		o, err := objectNamed(v, a.Object)
		if err != nil {
			return "", err
		}
		if o == v.Lobby() || o.Name() == "" {
			return "", fmt.Errorf("methods are proposed for named global objects, not %s", o.DisplayName())
		}
		target = o
		p, err = ParseProposal("", ProposeTool, string(args), o.Name(), strings.TrimSpace(a.Selector))
		return "", err
	})
	if err != nil {
		return "", err
	}
	p.Model, p.Via = r.Model, "planner tool call"
	ok, reason := r.Consider(ctx, env.VM, target, p, a.Call)
	if !ok {
		return "not installed: " + reason, nil
	}
	return fmt.Sprintf("installed %s>>%s: validated in the sandbox and approved", p.Target, p.Selector), nil
}

func askPerson(ctx context.Context, env *ToolEnv, args json.RawMessage) (string, error) {
	var a struct{ Question string }
	if err := decodeArgs(args, &a); err != nil {
		return "", err
	}
	if env == nil || env.Ask == nil {
		return "nobody is there to answer; decide yourself or say what you need in your answer", nil
	}
	ans, err := env.Ask(ctx, strings.TrimSpace(a.Question))
	if err != nil {
		return "", fmt.Errorf("asking the person failed: %v", err)
	}
	if strings.TrimSpace(ans) == "" {
		return "the person gave no answer", nil
	}
	return "the person answers: " + ans, nil
}
