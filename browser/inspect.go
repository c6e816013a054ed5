package browser

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/vm"
)

// Inspecting is what the Inspector needs from a running image, beside
// Image. Its answers are snapshots like Image's, and it follows the same
// asynchronous contract (ErrPending, then the same question again).
type Inspecting interface {
	// Inspect takes a snapshot of any object or table.
	Inspect(ref ValueRef) (InspectView, error)
	// SetSlot evaluates luaExpr in the image's globals and stores its
	// value in ref's slot key, as one transaction.
	SetSlot(ref ValueRef, key, luaExpr string) error
	// EvalIn evaluates expr (an expression, or statements) with self bound
	// to ref's value, as one transaction, and returns the printString of
	// what it returned ("nil" for nothing). A failure is a *vm.Error with
	// its traceback (see ErrorDetail).
	EvalIn(ref ValueRef, expr string) (string, error)
}

// ValueRef names an object or table of the image: a persistent one by its
// OID, a transient one (the result of an inspect-it, a table that has not
// been committed) by a handle into the image's Handles. The zero ValueRef
// names nothing.
type ValueRef struct {
	OID    vm.OID
	Handle int
}

// IsZero reports whether r names nothing.
func (r ValueRef) IsZero() bool { return r.OID == 0 && r.Handle == 0 }

func (r ValueRef) String() string {
	if r.IsZero() {
		return "none"
	}
	if r.OID != 0 {
		return fmt.Sprintf("oid %d", r.OID)
	}
	return fmt.Sprintf("handle %d", r.Handle)
}

// InspectView is a snapshot of one value, as the Inspector shows it.
type InspectView struct {
	Ref         ValueRef
	Kind        string // "object", "trait", "table", or a Lua type name
	PrintString string
	Proto       ValueRef // the prototype, zero if none
	ProtoName   string   // display name of the prototype, "" if none
	Entries     []Entry  // slots of an object; the items of a table, in order
}

// Entry is one slot or item: key and value as printStrings, and a
// reference to the value when it can be inspected in turn.
type Entry struct {
	Key   string
	Value string
	Ref   ValueRef // zero when the value is not an object or table
}

// Entry returns the entry with the given key.
func (v *InspectView) Entry(key string) (Entry, bool) {
	for _, e := range v.Entries {
		if e.Key == key {
			return e, true
		}
	}
	return Entry{}, false
}

// maxHandles bounds how many transient values a Handles keeps; the oldest
// are forgotten first.
const maxHandles = 4096

// Handles is a table of transient values the image has handed out as
// ValueRefs (results of evaluations, tables not yet committed), keyed by a
// small integer. It is used on the VM's goroutine; the mutex only guards
// against misuse.
type Handles struct {
	mu    sync.Mutex
	next  int
	vals  map[int]lua.LValue
	ids   map[lua.LValue]int
	order []int
}

// Put returns the handle of val, the same one for the same value.
func (h *Handles) Put(val lua.LValue) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.vals == nil {
		h.vals, h.ids = make(map[int]lua.LValue), make(map[lua.LValue]int)
	}
	if id, ok := h.ids[val]; ok {
		return id
	}
	h.next++
	id := h.next
	h.vals[id], h.ids[val] = val, id
	h.order = append(h.order, id)
	if len(h.order) > maxHandles {
		old := h.order[0]
		h.order = h.order[1:]
		delete(h.ids, h.vals[old])
		delete(h.vals, old)
	}
	return id
}

// Get returns the value of handle id.
func (h *Handles) Get(id int) (lua.LValue, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.vals[id]
	return v, ok
}

var (
	handlesMu sync.Mutex
	handlesOf = map[*vm.VM]*Handles{}
)

// HandlesFor returns the handle table shared by everything that inspects
// v (its VMImage and the workspace's evaluator), creating it on first use.
func HandlesFor(v *vm.VM) *Handles {
	handlesMu.Lock()
	defer handlesMu.Unlock()
	h := handlesOf[v]
	if h == nil {
		h = new(Handles)
		handlesOf[v] = h
	}
	return h
}

// ReleaseHandles forgets v's handle table (when v is closed).
func ReleaseHandles(v *vm.VM) {
	handlesMu.Lock()
	delete(handlesOf, v)
	handlesMu.Unlock()
}

// RefOf returns a reference to val when it is an object or a table (by
// OID when it is persistent, else by a handle in v's Handles), else the
// zero ValueRef.
func RefOf(v *vm.VM, val lua.LValue) ValueRef {
	if _, ok := val.(*lua.LTable); !ok {
		return ValueRef{}
	}
	if o := v.ObjectOf(val); o != nil && o.OID() != 0 {
		return ValueRef{OID: o.OID()}
	}
	return ValueRef{Handle: HandlesFor(v).Put(val)}
}

// ErrorDetail renders err as the tools show it: a *vm.Error with its
// traceback, anything else by its message.
func ErrorDetail(err error) string {
	var e *vm.Error
	if errors.As(err, &e) {
		return e.Detail()
	}
	return err.Error()
}

var _ Inspecting = VMImage{}

// value resolves ref to the Lua value it names.
func (m VMImage) value(ref ValueRef) (lua.LValue, error) {
	switch {
	case ref.OID != 0:
		o, err := m.VM.Object(ref.OID)
		if err != nil {
			return nil, err
		}
		return o.T(), nil
	case ref.Handle != 0:
		if val, ok := HandlesFor(m.VM).Get(ref.Handle); ok {
			return val, nil
		}
		return nil, fmt.Errorf("browser: the value of %v is no longer kept", ref)
	}
	return nil, errors.New("browser: no value to inspect")
}

func (m VMImage) printString(val lua.LValue) string {
	if s, ok := val.(lua.LString); ok {
		return strconv.Quote(string(s))
	}
	s, err := m.VM.PrintString(val)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return s
}

// Inspect implements Inspecting. The printStrings run in the caller's
// transaction, if any.
func (m VMImage) Inspect(ref ValueRef) (InspectView, error) {
	v := m.VM
	val, err := m.value(ref)
	if err != nil {
		return InspectView{}, err
	}
	view := InspectView{Ref: ref, Kind: val.Type().String(), PrintString: m.printString(val)}
	t, ok := val.(*lua.LTable)
	if !ok {
		return view, nil
	}
	o := v.ObjectOf(val)
	methods := false // whether functions are methods, left to the browser
	if o != nil {
		view.Kind = o.Kind().String()
		methods = o.Kind() != vm.KindTable
		if p := o.Proto(); p != nil {
			view.Proto, view.ProtoName = RefOf(v, p.T()), p.DisplayName()
		}
		if o.Kind() == vm.KindTrait {
			return view, nil // a trait's contents are its methods
		}
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
		view.Entries = append(view.Entries, Entry{Key: vm.KeyText(k), Value: m.printString(x), Ref: RefOf(v, x)})
	}
	return view, nil
}

// SetSlot implements Inspecting. A key that reads as a number names a
// numeric key unless the value already has a string key with that text.
func (m VMImage) SetSlot(ref ValueRef, key, luaExpr string) error {
	v := m.VM
	val, err := m.value(ref)
	if err != nil {
		return err
	}
	t, ok := val.(*lua.LTable)
	if !ok {
		return fmt.Errorf("browser: a %s has no slots", val.Type())
	}
	var k lua.LValue = lua.LString(key)
	if n, err := strconv.ParseFloat(key, 64); err == nil && t.RawGet(k) == lua.LNil {
		k = lua.LNumber(n)
	}
	ctx := context.Background()
	return v.Do(ctx, vm.TxOptions{Author: m.Author}, func() error {
		res, err := v.Eval(ctx, luaExpr, vm.EvalOptions{Name: "inspector", Author: m.Author})
		if err != nil {
			return err
		}
		var x lua.LValue = lua.LNil
		if len(res.Values) > 0 {
			x = res.Values[0]
		}
		_, err = v.Eval(ctx, "local t, k, v = ...; t[k] = v", vm.EvalOptions{
			Name: "inspector", Author: m.Author, NoExpr: true, Args: []lua.LValue{val, k, x},
		})
		return err
	})
}

// EvalIn implements Inspecting: expr is tried first as an expression,
// then as statements, with a local self bound to the value.
func (m VMImage) EvalIn(ref ValueRef, expr string) (string, error) {
	v := m.VM
	val, err := m.value(ref)
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	var out []string
	err = v.Do(ctx, vm.TxOptions{Author: m.Author}, func() error {
		opt := vm.EvalOptions{Name: "inspector", Author: m.Author, NoExpr: true, Args: []lua.LValue{val}, Print: true}
		res, err := v.Eval(ctx, "local self = ...; return "+expr, opt)
		var e *vm.Error
		if errors.As(err, &e) && e.Kind == "CompileError" {
			res, err = v.Eval(ctx, "local self = ...; "+expr, opt)
		}
		if err != nil {
			return err
		}
		out = res.Strings
		return nil
	})
	if err != nil {
		return "", err
	}
	if len(out) == 0 {
		return "nil", nil
	}
	return strings.Join(out, ", "), nil
}
