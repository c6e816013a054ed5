package vm

import (
	"context"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// NotUnderstood is the VM's hook for a message not understood (the agent
// implements it). Resolve runs inside the evaluation's transaction; it may
// define methods (VM.DefineMethod). If it returns resend, the VM looks the
// selector up again and, if it is now understood, sends it; otherwise the
// default MessageNotUnderstood error is raised with reason appended.
type NotUnderstood interface {
	Resolve(ctx context.Context, v *VM, req *DNURequest) (resend bool, reason string, err error)
}

// DNURequest describes one message not understood.
type DNURequest struct {
	Receiver *Object
	Selector string
	Args     []lua.LValue
}

// nilCall is nil's __call metamethod. gopher-lua evaluates a:m(x) as a
// lookup of "m" followed by a call of the result. When the lookup fell off
// the end of the prototype chain, missFn recorded the selector; if the call
// that follows is on nil with the same receiver, it is a send that was not
// understood.
func (v *VM) nilCall(L *lua.LState) int {
	n := L.GetTop()
	sel := v.lastMiss
	v.lastMiss = ""
	global := v.lastGlobalMiss
	v.lastGlobalMiss = ""
	if n >= 2 && sel != "" {
		recv := L.Get(2)
		if o := v.objectOf(recv); o != nil && o.kind != KindTable && L.GetField(recv, sel) == lua.LNil {
			args := make([]lua.LValue, 0, n-2)
			for i := 3; i <= n; i++ {
				args = append(args, L.Get(i))
			}
			return v.sendDNU(L, recv, sel, args)
		}
	}
	if global != "" {
		L.RaiseError("attempt to call a nil value (global '%s')", global)
	}
	L.RaiseError("attempt to call a nil value")
	return 0
}

// sendDNU sends doesNotUnderstand(message) to recv and pushes its results.
func (v *VM) sendDNU(L *lua.LState, recv lua.LValue, sel string, args []lua.LValue) int {
	msg := v.newMessage(sel, args)
	dnu := L.GetField(recv, "doesNotUnderstand")
	if dnu == lua.LNil {
		L.RaiseError("%s does not understand %s (and has no doesNotUnderstand)", v.shortString(recv, 1), sel)
	}
	top := L.GetTop()
	L.Push(dnu)
	L.Push(recv)
	L.Push(msg)
	L.Call(2, lua.MultRet)
	return L.GetTop() - top
}

func (v *VM) newMessage(sel string, args []lua.LValue) *lua.LTable {
	m := v.newObject(KindObject, v.message)
	at := v.L.CreateTable(len(args), 0)
	for _, a := range args {
		at.Append(a)
	}
	m.t.RawSetString("selector", lua.LString(sel))
	m.t.RawSetString("arguments", at)
	return m.t
}

// primDoesNotUnderstand is Object>>doesNotUnderstand: ask the hook, then
// raise MessageNotUnderstood.
func (v *VM) primDoesNotUnderstand(L *lua.LState) int {
	recv := L.Get(1)
	msg := L.CheckTable(2)
	sel := lua.LVAsString(msg.RawGetString("selector"))
	argT, _ := msg.RawGetString("arguments").(*lua.LTable)
	var args []lua.LValue
	if argT != nil {
		for i := 1; i <= argT.Len(); i++ {
			args = append(args, argT.RawGetInt(i))
		}
	}
	reason := ""
	if h := v.opts.NotUnderstood; h != nil {
		if o := v.objectOf(recv); o != nil {
			resend, why, err := h.Resolve(v.ctx, v, &DNURequest{Receiver: o, Selector: sel, Args: args})
			reason = why
			if err != nil {
				reason = err.Error()
			}
			if resend {
				if fn := L.GetField(recv, sel); fn != lua.LNil {
					top := L.GetTop()
					L.Push(fn)
					L.Push(recv)
					for _, a := range args {
						L.Push(a)
					}
					L.Call(len(args)+1, lua.MultRet)
					return L.GetTop() - top
				}
				if reason == "" {
					reason = "the resolver asked to resend, but the selector is still not understood"
				}
			}
		}
	}
	v.raiseMNU(recv, sel, args, reason)
	return 0
}

func (v *VM) raiseMNU(recv lua.LValue, sel string, args []lua.LValue, reason string) {
	e := v.newObject(KindObject, v.mnu)
	parts := make([]string, len(args))
	at := v.L.CreateTable(len(args), 0)
	for i, a := range args {
		parts[i] = v.shortString(a, 1)
		at.Append(a)
	}
	rname := v.shortString(recv, 0)
	text := fmt.Sprintf("%s does not understand %s(%s)", rname, sel, strings.Join(parts, ", "))
	if reason != "" {
		text += ": " + reason
	}
	e.t.RawSetString("receiver", recv)
	e.t.RawSetString("receiverName", lua.LString(rname))
	e.t.RawSetString("selector", lua.LString(sel))
	e.t.RawSetString("arguments", at)
	e.t.RawSetString("messageText", lua.LString(text))
	if reason != "" {
		e.t.RawSetString("reason", lua.LString(reason))
	}
	v.L.Error(e.t, 0)
}

// raise raises an error object of the named kind (a new clone of Error).
func (v *VM) raise(kind, text string) {
	e := v.newObject(KindObject, v.errorProto)
	e.t.RawSetString("messageText", lua.LString(text))
	e.t.RawSetString("kind", lua.LString(kind))
	v.L.Error(e.t, 0)
}

// Traceback returns the frames of the running evaluation, innermost first
// (for a NotUnderstood hook that shows where the message was sent).
func (v *VM) Traceback() []Frame { return v.traceback(v.L) }
