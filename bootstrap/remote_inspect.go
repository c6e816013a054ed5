package bootstrap

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

// The inspector's side of the remote protocol: "inspect" snapshots any
// object or table, eval's self binds a value, and eval's ref names its
// result. Transient values (a table an evaluation returned that is not
// reachable from the Lobby) are kept in a bounded table of handles
// ("@N" paths), used only on the VM's goroutine.

// maxRemoteHandles bounds the transient values the backend keeps; the
// oldest are forgotten first.
const maxRemoteHandles = 4096

// remoteHandles is the backend's table of transient values. Only the
// VM's goroutine touches it.
type remoteHandles struct {
	next  int
	vals  map[int]lua.LValue
	ids   map[lua.LValue]int
	order []int
}

func (h *remoteHandles) put(val lua.LValue) int {
	if h.vals == nil {
		h.vals, h.ids = map[int]lua.LValue{}, map[lua.LValue]int{}
	}
	if id, ok := h.ids[val]; ok {
		return id
	}
	h.next++
	id := h.next
	h.vals[id], h.ids[val] = val, id
	h.order = append(h.order, id)
	if len(h.order) > maxRemoteHandles {
		old := h.order[0]
		h.order = h.order[1:]
		delete(h.ids, h.vals[old])
		delete(h.vals, old)
	}
	return id
}

// refPath is a path to val when it is an object or a table: "#OID" for a
// persistent one, else "@N" (kept); "" for anything else.
func (b *RemoteBackend) refPath(v *vm.VM, val lua.LValue) string {
	if _, ok := val.(*lua.LTable); !ok {
		return ""
	}
	if o := v.ObjectOf(val); o != nil && o.OID() != 0 {
		return "#" + strconv.FormatUint(uint64(o.OID()), 10)
	}
	return "@" + strconv.Itoa(b.handles.put(val))
}

// value resolves a path to its value: "@N" from the handles, any other
// path through resolve. It runs inside a transaction.
func (b *RemoteBackend) value(v *vm.VM, path string) (lua.LValue, error) {
	if rest, ok := strings.CutPrefix(path, "@"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n <= 0 {
			return nil, remote.Errorf(remote.CodeInvalidParams, "path %q: @N wants a positive number", path)
		}
		val, ok := b.handles.vals[n]
		if !ok {
			return nil, remote.Errorf(remote.CodeNotFound, "path %q: the server no longer keeps that value (evaluate it again)", path)
		}
		return val, nil
	}
	o, err := resolve(v, path)
	if err != nil {
		return nil, err
	}
	return o.T(), nil
}

// evalSelf is Eval with p.Self bound to a local self: the code is tried as
// an expression, then as statements (as the local inspector's EvalIn).
func (b *RemoteBackend) evalSelf(ctx context.Context, v *vm.VM, p remote.EvalParams) (*remote.EvalResult, error) {
	tx := vm.TxOptions{Author: vm.Author(p.Author), Rollback: p.Rollback}
	if p.BudgetMS > 0 {
		tx.Budget = time.Duration(p.BudgetMS) * time.Millisecond
	}
	var out *remote.EvalResult
	var inner error
	err := v.Do(ctx, tx, func() error {
		self, err := b.value(v, p.Self)
		if err != nil {
			inner = err
			return err
		}
		opt := vm.EvalOptions{Name: "remote", Author: vm.Author(p.Author), NoExpr: true, Args: []lua.LValue{self}, Print: true}
		res, err := v.Eval(ctx, "local self = ...; return "+p.Code, opt)
		var e *vm.Error
		if errors.As(err, &e) && e.Kind == "CompileError" {
			res, err = v.Eval(ctx, "local self = ...; "+p.Code, opt)
		}
		if err != nil {
			return err
		}
		out = b.evalResult(v, res, p.Ref)
		return nil
	})
	if inner != nil {
		return nil, inner
	}
	if err != nil {
		b.approvalsAfter(err)
		return nil, evalErrorIn(v, err)
	}
	return out, nil
}

func (b *RemoteBackend) evalResult(v *vm.VM, res *vm.Result, ref bool) *remote.EvalResult {
	out := &remote.EvalResult{Values: res.Strings}
	if out.Values == nil {
		out.Values = []string{}
	}
	if ref && len(res.Values) > 0 {
		out.Ref = b.refPath(v, res.Values[0])
	}
	return out
}

// Inspect implements remote.Backend: a rolled-back read with the read
// budget; a printString cut short by the budget shows as its error.
func (b *RemoteBackend) Inspect(ctx context.Context, path string) (*remote.Inspection, error) {
	var out *remote.Inspection
	err := b.read(ctx, func(v *vm.VM) error {
		val, err := b.value(v, path)
		if err != nil {
			return err
		}
		out = &remote.Inspection{Ref: path, Kind: val.Type().String(), PrintString: inspectString(v, val), Entries: []remote.Entry{}}
		if p := b.refPath(v, val); strings.HasPrefix(p, "#") {
			out.Ref = p
		}
		t, ok := val.(*lua.LTable)
		if !ok {
			return nil
		}
		methods := false // functions of an object are methods, the browser's
		if o := v.ObjectOf(val); o != nil {
			out.Kind = o.Kind().String()
			methods = o.Kind() != vm.KindTable
			if p := o.Proto(); p != nil {
				out.Proto, out.ProtoName = b.refPath(v, p.T()), p.DisplayName()
			}
			if o.Kind() == vm.KindTrait {
				return nil // a trait's contents are its methods
			}
			o.SlotNames() // loads a fault
			t = o.T()
		}
		var keys []lua.LValue
		for k, x := t.Next(lua.LNil); k != lua.LNil; k, x = t.Next(k) {
			if _, isFn := x.(*lua.LFunction); isFn && methods {
				continue
			}
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return vm.KeyBefore(keys[i], keys[j]) })
		for _, k := range keys {
			x := t.RawGet(k)
			out.Entries = append(out.Entries, remote.Entry{Key: vm.KeyText(k), Value: inspectString(v, x), Ref: b.refPath(v, x)})
		}
		return nil
	})
	return out, err
}

func inspectString(v *vm.VM, val lua.LValue) string {
	if s, ok := val.(lua.LString); ok {
		return strconv.Quote(string(s))
	}
	s, err := v.PrintString(val)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return s
}
