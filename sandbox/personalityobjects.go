package sandbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/vm"
)

// PersonalityObjectsSource puts the personalities in the image: the
// Personality prototype (its slots are a personality's policy) and the
// registry Personalities, holding Personalities.debian. Their methods call
// the "personality" builtin (SetPersonalityBuiltin), which the wiring
// installs with a real runner and the validation sandbox with Simulated.
const PersonalityObjectsSource = `
Personality = Personality or Object:clone()
if Personality.network == nil then
  Personality.name = "personality"
  Personality.rootfs = ""          -- the name of a cached root filesystem, never a path
  Personality.network = false      -- the policy: may commands reach the network?
  Personality.idleTimeout = 60     -- seconds without a command before it stops
  Personality.description = ""
end
-- run(command): command is a shell string (/bin/sh -c) or a list of
-- arguments; the result is a table {stdout, stderr, code, ok, timedOut,
-- truncated, started, simulated}.
function Personality:run(command) return personality.run(self, command) end
function Personality:start() return personality.start(self) end
function Personality:stop() return personality.stop(self) end
function Personality:isRunning() return personality.running(self) end

Personalities = Personalities or Object:clone()
if Personalities.debian == nil then
  local d = Personality:clone()
  d.name = "debian"
  d.rootfs = "` + DebianRootfs + `"
  d.description = "Debian 12 (bookworm) minbase with cowsay; OS jokes in /usr/share/phoenix/os-jokes.txt; read-only root with a writable overlay in memory; no network"
  Personalities.debian = d
end
`

// InstallPersonalityObjects adds Personality and Personalities to an image
// that lacks them, as one transaction by the system author.
func InstallPersonalityObjects(ctx context.Context, v *vm.VM) error {
	if v.Global("Personalities") != nil && v.Global("Personality") != nil {
		return nil
	}
	_, err := v.Eval(ctx, PersonalityObjectsSource, vm.EvalOptions{Name: "personalities", Author: vm.AuthorSystem, NoExpr: true})
	return err
}

// ConfigOf reads a personality's configuration from its object. Only the
// objects registered in Personalities are personalities, under the name of
// their slot there (so image code cannot make up one with another policy
// or root); it must run inside a transaction or a Lua call.
func ConfigOf(v *vm.VM, o *vm.Object) (PersonalityConfig, error) {
	reg := v.Global("Personalities")
	if reg == nil {
		return PersonalityConfig{}, fmt.Errorf("personality: the image has no Personalities")
	}
	L := v.L
	name := ""
	for _, k := range reg.SlotNames() {
		if ks, ok := k.(lua.LString); ok && v.ObjectOf(L.GetField(reg.T(), string(ks))) == o {
			name = string(ks)
			break
		}
	}
	if name == "" {
		return PersonalityConfig{}, fmt.Errorf("personality: %s is not one of Personalities; only the personalities registered there may run commands", o.DisplayName())
	}
	t := o.T()
	cfg := PersonalityConfig{Name: name}
	if s, ok := L.GetField(t, "rootfs").(lua.LString); ok {
		cfg.Rootfs = string(s)
	}
	cfg.Network = lua.LVAsBool(L.GetField(t, "network"))
	if n, ok := L.GetField(t, "idleTimeout").(lua.LNumber); ok && n > 0 {
		cfg.IdleTimeout = time.Duration(float64(n) * float64(time.Second))
	}
	return cfg, nil
}

// PersonalityByName finds Personalities.NAME and its configuration; it
// must run inside a transaction.
func PersonalityByName(v *vm.VM, name string) (PersonalityConfig, error) {
	reg := v.Global("Personalities")
	if reg == nil {
		return PersonalityConfig{}, fmt.Errorf("personality: the image has no Personalities")
	}
	o := v.ObjectOf(v.L.GetField(reg.T(), name))
	if o == nil {
		var names []string
		for _, k := range reg.SlotNames() {
			names = append(names, k.String())
		}
		return PersonalityConfig{}, fmt.Errorf("personality: there is no personality %q (Personalities has %s)", name, strings.Join(names, ", "))
	}
	return ConfigOf(v, o)
}

// SetPersonalityBuiltin installs the "personality" builtin that the
// Personality methods call: run, start, stop and running, each governed by
// the personality's object (ConfigOf). Commands run under the evaluation's
// budget.
func SetPersonalityBuiltin(v *vm.VM, r PersonalityRunner) {
	L := v.L
	check := func(L *lua.LState) PersonalityConfig {
		o := v.ObjectOf(L.Get(1))
		if o == nil {
			L.ArgError(1, "a personality expected (e.g. Personalities.debian)")
		}
		cfg, err := ConfigOf(v, o)
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		return cfg
	}
	ctxOf := func(L *lua.LState) context.Context {
		if c := L.Context(); c != nil {
			return c
		}
		return context.Background()
	}
	t := L.NewTable()
	t.RawSetString("run", L.NewFunction(func(L *lua.LState) int {
		cfg := check(L)
		var cmd Command
		switch c := L.Get(2).(type) {
		case lua.LString:
			cmd.Shell = string(c)
		case *lua.LTable:
			for i := 1; i <= c.Len(); i++ {
				s, ok := c.RawGetInt(i).(lua.LString)
				if !ok {
					L.ArgError(2, fmt.Sprintf("argument %d of the command is a %s, not a string", i, c.RawGetInt(i).Type()))
				}
				cmd.Args = append(cmd.Args, string(s))
			}
		default:
			L.ArgError(2, "a command (a shell string or a list of arguments) expected")
		}
		res, err := r.RunCommand(ctxOf(L), cfg, cmd)
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		out := L.NewTable()
		out.RawSetString("stdout", lua.LString(res.Stdout))
		out.RawSetString("stderr", lua.LString(res.Stderr))
		out.RawSetString("code", lua.LNumber(res.ExitCode))
		out.RawSetString("ok", lua.LBool(res.OK()))
		out.RawSetString("timedOut", lua.LBool(res.TimedOut))
		out.RawSetString("truncated", lua.LBool(res.Truncated))
		out.RawSetString("started", lua.LBool(res.Started))
		out.RawSetString("simulated", lua.LBool(res.Simulated))
		L.Push(out)
		return 1
	}))
	t.RawSetString("start", L.NewFunction(func(L *lua.LState) int {
		cfg := check(L)
		if s, ok := r.(interface {
			Start(context.Context, PersonalityConfig) (bool, error)
		}); ok {
			started, err := s.Start(ctxOf(L), cfg)
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			L.Push(lua.LBool(started))
			return 1
		}
		L.Push(lua.LFalse)
		return 1
	}))
	t.RawSetString("stop", L.NewFunction(func(L *lua.LState) int {
		cfg := check(L)
		if err := r.Stop(cfg.Name); err != nil {
			L.RaiseError("%s", err.Error())
		}
		return 0
	}))
	t.RawSetString("running", L.NewFunction(func(L *lua.LState) int {
		cfg := check(L)
		L.Push(lua.LBool(r.Running(cfg.Name)))
		return 1
	}))
	v.SetBuiltin("personality", t)
}

// Simulated stands in for personalities where none can run: inside the
// validation sandbox (gVisor, with no runsc nested in it). It runs
// nothing; every command "succeeds" with Simulated set and a stdout that
// says what would have run, so a candidate's logic and tests run while
// nothing leaves the sandbox. The real command runs only in the image, after
// approval.
type Simulated struct{}

var _ PersonalityRunner = Simulated{}

// SimulatedOutput is the stdout of a simulated command.
func SimulatedOutput(cfg PersonalityConfig, cmd Command) string {
	return fmt.Sprintf("[simulated: personality %s would run: %s]\n", cfg.Name, cmd.String())
}

func (Simulated) RunCommand(ctx context.Context, cfg PersonalityConfig, cmd Command) (*CommandResult, error) {
	if _, err := cmd.argv(); err != nil {
		return nil, fmt.Errorf("personality %s: %w", cfg.Name, err)
	}
	return &CommandResult{Personality: cfg.Name, Command: cmd.String(), Stdout: SimulatedOutput(cfg, cmd), Simulated: true, Network: cfg.Network}, nil
}
func (Simulated) Stop(string) error   { return nil }
func (Simulated) Running(string) bool { return false }

// mentionsPersonality says whether a request may use a personality, so the
// validation sandbox installs the objects only then.
func mentionsPersonality(req *Request) bool {
	for _, s := range []string{req.Context, req.Source, req.Tests, req.Call} {
		if strings.Contains(s, "ersonalit") {
			return true
		}
	}
	return false
}
