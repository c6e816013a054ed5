package browser

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/vm"
)

// Editing is what the browser needs, beside Image, to show a method's
// history, to find senders and implementors and to create and remove
// objects, slots and methods. It follows Image's asynchronous contract
// (ErrPending, then the same question again); a repeated change with
// identical arguments while the first is pending is the same request.
// Every change is one transaction; its errors name the thing changed.
// The browser offers these tools only when its Image implements Editing.
type Editing interface {
	// History lists the committed changes of ref's method selector,
	// oldest first.
	History(ref ObjectRef, selector string) ([]Change, error)
	// Revert puts back the source selector had before its last change.
	Revert(ref ObjectRef, selector string) error
	// Senders lists the methods (of the Lobby's objects and their traits)
	// whose source sends selector.
	Senders(selector string) ([]MethodRef, error)
	// Implementors lists the Lobby's objects and their traits that define
	// selector themselves.
	Implementors(selector string) ([]ObjectRef, error)
	// CreateObject makes the global name a clone of the global protoName
	// ("Trait" makes a new trait).
	CreateObject(name, protoName string) error
	// RemoveGlobal removes the global name from the Lobby.
	RemoveGlobal(name string) error
	// AddSlot gives ref a new data slot name whose value is the Lua
	// expression expr, evaluated in the image's globals, as one
	// transaction.
	AddSlot(ref ObjectRef, name, expr string) error
	// RemoveSlot removes ref's data slot key.
	RemoveSlot(ref ObjectRef, key string) error
	// UseTrait adds the global trait named trait to ref's composition
	// (keeping the others with their exclusions and aliases); a conflict
	// it would cause is the error and changes nothing.
	UseTrait(ref ObjectRef, trait string) error
	// StopUsingTrait removes the global trait named trait from ref's
	// composition.
	StopUsingTrait(ref ObjectRef, trait string) error
	// RemoveMethod removes ref's own method selector.
	RemoveMethod(ref ObjectRef, selector string) error
}

// Change is one entry of a method's history.
type Change struct {
	Time     time.Time
	Author   string
	Note     string
	Old, New string // sources; "" when the method did not exist / was removed
}

// MethodRef names one method of one object.
type MethodRef struct {
	Object   ObjectRef
	Selector string
}

var _ Editing = VMImage{}

// UnifiedDiff returns the unified diff of old and new (line based, three
// lines of context), without the file header lines.
func UnifiedDiff(old, new string) string {
	d := difflib.UnifiedDiff{
		A:       difflib.SplitLines(withNewline(old)),
		B:       difflib.SplitLines(withNewline(new)),
		Context: 3,
	}
	s, err := difflib.GetUnifiedDiffString(d)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ ") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func withNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

func (m VMImage) do(fn func() error) error {
	return m.VM.Do(context.Background(), vm.TxOptions{Author: m.Author}, fn)
}

// History implements Editing.
func (m VMImage) History(ref ObjectRef, selector string) ([]Change, error) {
	o, err := m.object(ref)
	if err != nil {
		return nil, err
	}
	hs, err := m.VM.History(o, selector)
	if err != nil {
		return nil, fmt.Errorf("history of %s>>%s: %w", ref.Name, selector, err)
	}
	out := make([]Change, len(hs))
	for i, h := range hs {
		out[i] = Change{Time: h.Time, Author: string(h.Author), Note: h.Note, Old: h.Old, New: h.New}
	}
	return out, nil
}

// Revert implements Editing.
func (m VMImage) Revert(ref ObjectRef, selector string) error {
	o, err := m.object(ref)
	if err != nil {
		return err
	}
	if err := m.do(func() error { return m.VM.Revert(o, selector) }); err != nil {
		return fmt.Errorf("reverting %s>>%s: %w", ref.Name, selector, err)
	}
	return nil
}

// searched lists the Lobby's objects and their traits, each once, with
// the name to show: its global name if it has one.
func (m VMImage) searched() []ObjectRef {
	gs, _ := m.Globals()
	seen := map[vm.OID]bool{}
	var out []ObjectRef
	for _, g := range gs {
		if g.OID != 0 && seen[g.OID] {
			continue
		}
		seen[g.OID] = true
		out = append(out, g)
	}
	for _, g := range gs {
		o, err := m.object(g)
		if err != nil {
			continue
		}
		for _, t := range o.TraitObjects() {
			if t.OID() != 0 && seen[t.OID()] {
				continue
			}
			seen[t.OID()] = true
			out = append(out, m.ref(t, ""))
		}
	}
	return out
}

// Senders implements Editing: the methods of the Lobby's objects and
// their traits whose parsed source sends selector (see Sends).
func (m VMImage) Senders(selector string) ([]MethodRef, error) {
	if selector == "" {
		return nil, fmt.Errorf("senders: no selector")
	}
	var out []MethodRef
	for _, r := range m.searched() {
		o, err := m.object(r)
		if err != nil {
			continue
		}
		for _, sel := range o.MethodNames() {
			src, _ := m.VM.MethodSource(o, sel)
			if Sends(src, selector) {
				out = append(out, MethodRef{Object: r, Selector: sel})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Object.Name != out[j].Object.Name {
			return out[i].Object.Name < out[j].Object.Name
		}
		return out[i].Selector < out[j].Selector
	})
	return out, nil
}

// Implementors implements Editing.
func (m VMImage) Implementors(selector string) ([]ObjectRef, error) {
	if selector == "" {
		return nil, fmt.Errorf("implementors: no selector")
	}
	var out []ObjectRef
	for _, r := range m.searched() {
		o, err := m.object(r)
		if err != nil {
			continue
		}
		if _, ok := m.VM.MethodSource(o, selector); ok {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CreateObject implements Editing.
func (m VMImage) CreateObject(name, protoName string) error {
	if !identifier.MatchString(name) {
		return fmt.Errorf("creating %q: not a name", name)
	}
	if protoName == "" {
		protoName = "Object"
	}
	if m.VM.Lobby().T().RawGetString(name) != lua.LNil {
		return fmt.Errorf("creating %s: the Lobby already has %s", name, name)
	}
	proto := m.VM.Global(protoName)
	if proto == nil {
		return fmt.Errorf("creating %s: no object %q in the Lobby", name, protoName)
	}
	err := m.do(func() error {
		res, err := m.VM.Send(proto.T(), "clone")
		if err != nil {
			return err
		}
		if len(res) == 0 {
			return fmt.Errorf("%s:clone() returned nothing", protoName)
		}
		return m.setGlobal(name, res[0])
	})
	if err != nil {
		return fmt.Errorf("creating %s as %s:clone(): %w", name, protoName, err)
	}
	return nil
}

func (m VMImage) setGlobal(name string, val lua.LValue) error {
	_, err := m.VM.Eval(context.Background(), "local t, k, v = ...; t[k] = v", vm.EvalOptions{
		Name: "browser", Author: m.Author, NoExpr: true,
		Args: []lua.LValue{m.VM.Lobby().T(), lua.LString(name), val},
	})
	return err
}

// RemoveGlobal implements Editing.
func (m VMImage) RemoveGlobal(name string) error {
	if m.VM.Lobby().T().RawGetString(name) == lua.LNil {
		return fmt.Errorf("removing %s: no such global", name)
	}
	if err := m.do(func() error { return m.setGlobal(name, lua.LNil) }); err != nil {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return nil
}

// AddSlot implements Editing. The name must be a Lua name the object does
// not have yet (a slot or a method of its own: the Inspector edits an
// existing slot); a value that is nil would make no slot, so it is an
// error too. The expression is evaluated and the slot set in one
// transaction: on any error nothing changes.
func (m VMImage) AddSlot(ref ObjectRef, name, expr string) error {
	fail := func(err error) error { return fmt.Errorf("adding slot %s.%s: %w", ref.Name, name, err) }
	if !identifier.MatchString(name) {
		return fmt.Errorf("adding a slot to %s: %q is not a name (letters, digits and _, not starting with a digit)", ref.Name, name)
	}
	if strings.TrimSpace(expr) == "" {
		return fail(fmt.Errorf("no value: write a Lua expression, e.g. 0 or {} or Object:clone()"))
	}
	o, err := m.object(ref)
	if err != nil {
		return err
	}
	switch x := o.T().RawGetString(name); x.(type) {
	case *lua.LNilType:
	case *lua.LFunction:
		return fail(fmt.Errorf("%s has a method %s", ref.Name, name))
	default:
		return fail(fmt.Errorf("%s already has it (its value is edited in the Inspector)", ref.Name))
	}
	v := m.VM
	ctx := context.Background()
	err = v.Do(ctx, vm.TxOptions{Author: m.Author}, func() error {
		res, err := v.Eval(ctx, expr, vm.EvalOptions{Name: "browser", Author: m.Author})
		if err != nil {
			return err
		}
		if len(res.Values) == 0 || res.Values[0] == lua.LNil {
			return fmt.Errorf("the value of %s is nil, which makes no slot", strings.TrimSpace(expr))
		}
		_, err = v.Eval(ctx, "local t, k, v = ...; t[k] = v", vm.EvalOptions{
			Name: "browser", Author: m.Author, NoExpr: true, Args: []lua.LValue{o.T(), lua.LString(name), res.Values[0]},
		})
		return err
	})
	if err != nil {
		return fail(err)
	}
	return nil
}

// UseTrait implements Editing.
func (m VMImage) UseTrait(ref ObjectRef, trait string) error {
	return m.composeTraits(ref, trait, true)
}

// StopUsingTrait implements Editing.
func (m VMImage) StopUsingTrait(ref ObjectRef, trait string) error {
	return m.composeTraits(ref, trait, false)
}

// composeTraits sends ref uses(...) with its traits, plus (add) or minus
// the global trait name, each kept with its exclusions and aliases, as
// one transaction.
func (m VMImage) composeTraits(ref ObjectRef, name string, add bool) error {
	verb := "using"
	if !add {
		verb = "no longer using"
	}
	fail := func(err error) error { return fmt.Errorf("%s %s %s: %w", ref.Name, verb, name, err) }
	o, err := m.object(ref)
	if err != nil {
		return err
	}
	tr := m.VM.Global(name)
	if tr == nil || tr.Kind() != vm.KindTrait {
		return fail(fmt.Errorf("there is no trait %q in the Lobby", name))
	}
	src, args, found, err := m.VM.Recompose(o, tr, add)
	if err != nil {
		return fail(err)
	}
	switch {
	case add && found:
		return fail(fmt.Errorf("it uses it already"))
	case !add && !found:
		return fail(fmt.Errorf("it does not use it"))
	}
	err = m.do(func() error {
		_, err := m.VM.Eval(context.Background(), src, vm.EvalOptions{Name: "browser", Author: m.Author, NoExpr: true, Args: args})
		return err
	})
	if err != nil {
		return fail(err)
	}
	return nil
}

// RemoveSlot implements Editing.
func (m VMImage) RemoveSlot(ref ObjectRef, key string) error {
	o, err := m.object(ref)
	if err != nil {
		return err
	}
	t := o.T()
	x := t.RawGetString(key)
	if _, isFn := x.(*lua.LFunction); x == lua.LNil || isFn {
		return fmt.Errorf("removing %s.%s: no such slot", ref.Name, key)
	}
	err = m.do(func() error {
		_, err := m.VM.Eval(context.Background(), "local t, k = ...; t[k] = nil", vm.EvalOptions{
			Name: "browser", Author: m.Author, NoExpr: true, Args: []lua.LValue{t, lua.LString(key)},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("removing %s.%s: %w", ref.Name, key, err)
	}
	return nil
}

// RemoveMethod implements Editing.
func (m VMImage) RemoveMethod(ref ObjectRef, selector string) error {
	o, err := m.object(ref)
	if err != nil {
		return err
	}
	if err := m.do(func() error { return m.VM.RemoveMethod(o, selector) }); err != nil {
		return fmt.Errorf("removing %s>>%s: %w", ref.Name, selector, err)
	}
	return nil
}
