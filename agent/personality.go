package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sashabaranov/go-openai/jsonschema"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// PersonalityRunner is what the planner's personality tools need: start a
// personality and run a command in it. The wiring supplies it
// (sandbox.Personalities under runsc); the policy (rootfs, network) comes
// from the personality's object in the image, Personalities.NAME.
type PersonalityRunner interface {
	Start(ctx context.Context, cfg sandbox.PersonalityConfig) (started bool, err error)
	RunCommand(ctx context.Context, cfg sandbox.PersonalityConfig, cmd sandbox.Command) (*sandbox.CommandResult, error)
}

// Tool names of the environment tools.
const (
	PersonalityStartTool = "personality_start"
	PersonalityRunTool   = "personality_run"
	CreatePrototypeTool  = "create_prototype"
)

// PersonalityTools are the tools over environment personalities (the
// seed's emulation.start and debian_shell.execute) and create_prototype,
// which makes the new object a proposed method can then be added to.
// Running a command does not change the image, so it needs no approved
// plan; it is contained by gVisor and by the personality's policy.
func PersonalityTools() []Tool {
	nameProp := strProp("the personality's name: a slot of Personalities, e.g. debian")
	return []Tool{
		{
			Name: PersonalityStartTool,
			Description: "Start an environment personality (an operating-system userland such as Debian, run under gVisor with its own " +
				"root filesystem; no host files, no network unless its policy allows). It starts on demand anyway and stops when idle.",
			Parameters: jsonschema.Definition{Type: jsonschema.Object, Properties: map[string]jsonschema.Definition{
				"name": nameProp,
			}, Required: []string{"name"}},
			Run: personalityStart,
		},
		{
			Name: PersonalityRunTool,
			Description: "Run a shell command in an environment personality and see its exit status, stdout and stderr. Writes last " +
				"until the personality stops. Image methods can do the same at call time with " +
				`Personalities.NAME:run("command") (or a list of arguments), which returns {stdout, stderr, code, ok}; ` +
				"in the validation sandbox that call is simulated (nothing runs; ok is true, simulated is true and stdout says what would have run), " +
				"so tests of such a method should check the type of what it returns, not the command's real output.",
			Parameters: jsonschema.Definition{Type: jsonschema.Object, Properties: map[string]jsonschema.Definition{
				"name":    nameProp,
				"command": strProp("a shell command, run with /bin/sh -c as root inside the personality"),
			}, Required: []string{"name", "command"}},
			Run: personalityRun,
		},
		{
			Name: CreatePrototypeTool,
			Description: "Create a new, empty global object (a clone of a prototype, Object by default) so that methods can be proposed " +
				"for it with propose_method. It persists in the image.",
			Parameters: jsonschema.Definition{Type: jsonschema.Object, Properties: map[string]jsonschema.Definition{
				"name":        strProp("the new global's name, e.g. CowJoker"),
				"proto":       strProp("the global name of its prototype; default Object"),
				"description": strProp("one sentence on what it is for, kept in its description slot"),
			}, Required: []string{"name"}},
			Run:     createPrototype,
			Mutates: true,
		},
	}
}

// personalityConfig reads Personalities.NAME's policy in a rolled-back
// transaction.
func personalityConfig(ctx context.Context, env *ToolEnv, name string) (sandbox.PersonalityConfig, error) {
	var cfg sandbox.PersonalityConfig
	if env == nil || env.Personalities == nil {
		return cfg, errors.New("no environment personalities are available in this session")
	}
	_, err := look(ctx, env, func(v *vm.VM) (string, error) {
		var err error
		cfg, err = sandbox.PersonalityByName(v, strings.TrimSpace(name))
		return "", err
	})
	return cfg, err
}

func networkText(cfg sandbox.PersonalityConfig) string {
	if cfg.Network {
		return "network allowed by its policy"
	}
	return "no network (its policy)"
}

func personalityStart(ctx context.Context, env *ToolEnv, args json.RawMessage) (string, error) {
	var a struct{ Name string }
	if err := decodeArgs(args, &a); err != nil {
		return "", err
	}
	cfg, err := personalityConfig(ctx, env, a.Name)
	if err != nil {
		return "", err
	}
	start := time.Now()
	started, err := env.Personalities.Start(ctx, cfg)
	env.audit("personality", "agent", cfg.Name, map[string]any{"action": "start", "started": started, "network": cfg.Network, "ok": err == nil})
	if err != nil {
		return "", err
	}
	res, err := env.Personalities.RunCommand(ctx, cfg, sandbox.Command{Shell: `. /etc/os-release; echo "$PRETTY_NAME"`})
	system := "unknown system"
	if err == nil && res.OK() {
		system = strings.TrimSpace(res.Stdout)
	}
	state := "already running"
	if started {
		state = fmt.Sprintf("started in %.2f s", time.Since(start).Seconds())
	}
	return fmt.Sprintf("personality %s %s: %s (rootfs %s), %s; stops after %v idle. Run commands with %s.",
		cfg.Name, state, system, cfg.Rootfs, networkText(cfg), orDefault(cfg.IdleTimeout, 60*time.Second), PersonalityRunTool), nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func personalityRun(ctx context.Context, env *ToolEnv, args json.RawMessage) (string, error) {
	var a struct{ Name, Command string }
	if err := decodeArgs(args, &a); err != nil {
		return "", err
	}
	cfg, err := personalityConfig(ctx, env, a.Name)
	if err != nil {
		return "", err
	}
	res, err := env.Personalities.RunCommand(ctx, cfg, sandbox.Command{Shell: a.Command})
	env.audit("personality", "agent", cfg.Name, map[string]any{
		"action": "run", "commandSha256": sha(a.Command), "commandBytes": len(a.Command), "ok": err == nil && res.OK(),
	})
	if err != nil {
		return "", err
	}
	return FormatCommandResult(res), nil
}

// FormatCommandResult renders a command's result as an observation.
func FormatCommandResult(res *sandbox.CommandResult) string {
	var sb strings.Builder
	switch {
	case res.TimedOut:
		sb.WriteString("timed out")
	default:
		fmt.Fprintf(&sb, "exit %d", res.ExitCode)
	}
	fmt.Fprintf(&sb, " (%s, %.2f s", res.Personality, res.Duration.Seconds())
	if res.Started {
		sb.WriteString(", started it")
	}
	if res.Simulated {
		sb.WriteString(", simulated")
	}
	sb.WriteString(")")
	if out := strings.TrimRight(res.Stdout, "\n"); out != "" {
		fmt.Fprintf(&sb, "\nstdout:\n%s", capText(out, 4000))
	}
	if out := strings.TrimRight(res.Stderr, "\n"); out != "" {
		fmt.Fprintf(&sb, "\nstderr:\n%s", capText(out, 2000))
	}
	return sb.String()
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// luaKeywords cannot be global names.
var luaKeywords = map[string]bool{"and": true, "break": true, "do": true, "else": true, "elseif": true, "end": true,
	"false": true, "for": true, "function": true, "if": true, "in": true, "local": true, "nil": true, "not": true,
	"or": true, "repeat": true, "return": true, "then": true, "true": true, "until": true, "while": true}

func createPrototype(ctx context.Context, env *ToolEnv, args json.RawMessage) (string, error) {
	var a struct{ Name, Proto, Description string }
	if err := decodeArgs(args, &a); err != nil {
		return "", err
	}
	if env == nil || env.VM == nil {
		return "", errors.New("no image is open")
	}
	name, proto := strings.TrimSpace(a.Name), strings.TrimSpace(a.Proto)
	if proto == "" {
		proto = "Object"
	}
	for _, n := range []string{name, proto} {
		if !identifier.MatchString(n) || luaKeywords[n] {
			return "", fmt.Errorf("%q is not a name for a global object", n)
		}
	}
	v := env.VM
	_, err := look(ctx, env, func(v *vm.VM) (string, error) {
		if v.Lobby().T().RawGetString(name) != lua.LNil {
			return "", fmt.Errorf("a global named %s already exists; choose another name or propose methods for it", name)
		}
		if _, err := objectNamed(v, proto); err != nil {
			return "", fmt.Errorf("the prototype: %w", err)
		}
		return "", nil
	})
	if err != nil {
		return "", err
	}
	err = v.Do(ctx, vm.TxOptions{Author: vm.AuthorAgent}, func() error {
		p, err := objectNamed(v, proto)
		if err != nil {
			return err
		}
		o, err := v.Clone(p)
		if err != nil {
			return err
		}
		v.L.SetField(v.Env(), name, o.T()) // a global: the Lobby's slot
		if d := strings.TrimSpace(a.Description); d != "" {
			v.L.SetField(o.T(), "description", lua.LString(d))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", name, err)
	}
	env.audit("create", "agent", name, map[string]any{"proto": proto})
	return fmt.Sprintf("created %s, a clone of %s; propose its methods with %s", name, proto, ProposeTool), nil
}
