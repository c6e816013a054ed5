package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

// The agent's objects in the image: the LLM prototype (its slots are the
// configuration; the key is named, never stored), the Policy and the
// AuditLog. Their methods are ordinary Lua that call the "llm" and "audit"
// builtins, which exist only in a Phoenix that runs the agent (not in the
// sandbox).
const objectsSource = `
LLM = LLM or Object:clone()
if LLM.role == nil then
  LLM.role = "coder"
  LLM.baseURL = ""          -- "" means $OPENAI_BASE_URL
  LLM.model = ""            -- "" means $PHOENIX_MODEL
  LLM.keyEnv = "OPENAI_API_KEY"  -- the NAME of the variable that holds the key
  LLM.temperature = 0.2
  LLM.maxTokens = 2048
  LLM.contextLength = 16384
  LLM.timeout = 60
  LLM.retries = 2
  LLM.concurrency = 1
end
function LLM:ask(prompt) return llm.ask(self, prompt) end
function LLM:usage() return llm.usage(self) end

Policy = Policy or Object:clone()
if Policy.mode == nil then
  Policy.mode = "always"          -- always | risky | auto
  Policy.autoApprove = {}         -- names of objects whose validated changes are installed (mode auto)
  Policy.core = {"Object", "Trait", "Lobby", "LLM", "Policy", "AuditLog", "TestCase"}
  Policy.sandboxNetwork = false
  Policy.allowInProcess = false   -- the weaker in-process validator for generated code
end

AuditLog = AuditLog or Object:clone()
function AuditLog:tail(n) return audit.tail(n or 10) end
function AuditLog:verify() return audit.verify() end
`

// Install adds the agent's objects to an image that lacks them (genesis
// and older images), as one transaction by the system author.
func InstallObjects(ctx context.Context, v *vm.VM) error {
	if err := installMemoryObject(ctx, v); err != nil {
		return err
	}
	if v.Global("LLM") != nil && v.Global("Policy") != nil && v.Global("AuditLog") != nil {
		return nil
	}
	_, err := v.Eval(ctx, objectsSource, vm.EvalOptions{Name: "agent", Author: vm.AuthorSystem, NoExpr: true})
	return err
}

// AuditReader is what the audit builtin reads (image.Image implements it).
type AuditReader interface {
	AuditTail(n int) ([]*image.AuditEntry, error)
	VerifyAudit() (*image.AuditReport, error)
}

// FormatAudit renders one audit entry on one line.
func FormatAudit(e *image.AuditEntry) string {
	return fmt.Sprintf("#%d %s %-9s %-6s %s %s", e.Seq, e.Time.Format("2006-01-02 15:04:05"), e.Kind, e.Actor, e.Subject, string(e.Data))
}

// Builtins installs the "llm" (and, with a reader, "audit") globals that
// the agent's objects call. Clients are made per LLM object from its slots,
// with the environment as the fallback, and kept (with their concurrency
// limit and usage) for the life of the process.
func Builtins(v *vm.VM, ar AuditReader) {
	clients := &clientCache{m: map[*vm.Object]*LLMClient{}}
	L := v.L
	t := L.NewTable()
	t.RawSetString("ask", L.NewFunction(func(L *lua.LState) int {
		o := v.ObjectOf(L.Get(1))
		if o == nil {
			L.ArgError(1, "an LLM object expected")
		}
		prompt := L.CheckString(2)
		c, err := clients.get(v, o)
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		resp, err := c.Chat(ctx, ChatRequest{Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: prompt}}})
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		L.Push(lua.LString(resp.Content))
		return 1
	}))
	t.RawSetString("usage", L.NewFunction(func(L *lua.LState) int {
		o := v.ObjectOf(L.Get(1))
		u := L.NewTable()
		if c := clients.peek(o); c != nil {
			us := c.Usage()
			u.RawSetString("requests", lua.LNumber(us.Requests))
			u.RawSetString("promptTokens", lua.LNumber(us.PromptTokens))
			u.RawSetString("completionTokens", lua.LNumber(us.CompletionTokens))
			u.RawSetString("failures", lua.LNumber(us.Failures))
		}
		L.Push(u)
		return 1
	}))
	v.SetBuiltin("llm", t)
	if ar != nil {
		a := L.NewTable()
		a.RawSetString("tail", L.NewFunction(func(L *lua.LState) int {
			entries, err := ar.AuditTail(L.OptInt(1, 10))
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			out := L.NewTable()
			for _, e := range entries {
				out.Append(lua.LString(FormatAudit(e)))
			}
			L.Push(out)
			return 1
		}))
		a.RawSetString("verify", L.NewFunction(func(L *lua.LState) int {
			rep, err := ar.VerifyAudit()
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			s := fmt.Sprintf("%d entries, ok", rep.Entries)
			if !rep.OK {
				s = fmt.Sprintf("%d entries, %d problems: %s", rep.Entries, len(rep.Problems), strings.Join(rep.Problems, "; "))
			}
			L.Push(lua.LString(s))
			return 1
		}))
		v.SetBuiltin("audit", a)
	}
}

type clientCache struct {
	mu sync.Mutex
	m  map[*vm.Object]*LLMClient
}

func (c *clientCache) peek(o *vm.Object) *LLMClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[o]
}

func (c *clientCache) get(v *vm.VM, o *vm.Object) (*LLMClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.m[o]; cl != nil {
		return cl, nil
	}
	cfg, ok := ConfigOf(v, o)
	if !ok {
		return nil, fmt.Errorf("%s has no base URL and model (set its baseURL and model slots, or OPENAI_BASE_URL and PHOENIX_MODEL)", o.DisplayName())
	}
	cl := NewLLMClient(cfg, nil)
	c.m[o] = cl
	return cl, nil
}

// ConfigOf reads an LLM object's slots (looked up through its prototypes),
// with the environment filling what they leave empty.
func ConfigOf(v *vm.VM, o *vm.Object) (LLMConfig, bool) {
	env, _ := ConfigFromEnv()
	get := func(k string) lua.LValue {
		val, _ := v.Lookup(o, k)
		return val
	}
	str := func(k, def string) string {
		if s, ok := get(k).(lua.LString); ok && s != "" {
			return string(s)
		}
		return def
	}
	num := func(k string, def float64) float64 {
		if n, ok := get(k).(lua.LNumber); ok {
			return float64(n)
		}
		return def
	}
	cfg := LLMConfig{
		Name:          o.DisplayName(),
		Role:          str("role", "coder"),
		BaseURL:       str("baseURL", env.BaseURL),
		Model:         str("model", env.Model),
		KeyEnv:        str("keyEnv", "OPENAI_API_KEY"),
		Temperature:   float32(num("temperature", 0.2)),
		MaxTokens:     int(num("maxTokens", 2048)),
		ContextLength: int(num("contextLength", 16384)),
		Timeout:       time.Duration(num("timeout", 60) * float64(time.Second)),
		Retries:       int(num("retries", 2)),
		Concurrency:   int(num("concurrency", 1)),
	}
	return cfg, cfg.BaseURL != "" && cfg.Model != ""
}

// RoleObject finds the global LLM object (a clone of LLM) with the given
// role, e.g. Coder = LLM:clone(); Coder.role = "coder". Globals are tried
// in name order; the LLM prototype itself is not returned.
func RoleObject(v *vm.VM, role string) *vm.Object {
	llmProto := v.Global("LLM")
	if llmProto == nil {
		return nil
	}
	lobby := v.Lobby()
	for _, k := range lobby.SlotNames() {
		o := v.ObjectOf(lobby.T().RawGet(k))
		if o == nil || o == llmProto || o.Kind() != vm.KindObject {
			continue
		}
		isLLM := false
		for p := o.Proto(); p != nil; p = p.Proto() {
			isLLM = isLLM || p == llmProto
		}
		if !isLLM {
			continue
		}
		if r, _ := v.Lookup(o, "role"); lua.LVAsString(r) == role {
			return o
		}
	}
	return nil
}
