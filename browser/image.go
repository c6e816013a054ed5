package browser

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/phoenix-image/phoenix/vm"
)

// Image is what the browser needs from a running image. Every answer is a
// snapshot of plain data, safe to keep and to hand between goroutines.
//
// An implementation must not block the UI goroutine for long. An
// asynchronous one may return ErrPending: the browser keeps what it asked
// for and asks again with the same arguments on a later frame, and the
// implementation invalidates the window when the answer has arrived (for
// Accept, a repeated call with identical arguments while the first is
// pending refers to the same request and must not define the method twice).
type Image interface {
	// Globals lists the Lobby's objects, sorted by name.
	Globals() ([]ObjectRef, error)
	// Children lists the objects (and traits) held by ref's own data
	// slots, sorted by slot, each with Slot set to the slot's key: the
	// children of ref's node in the browser's tree. An object without a
	// global name is named after the path to it ("Account.owner").
	Children(ref ObjectRef) ([]ObjectRef, error)
	// Describe takes a snapshot of one object.
	Describe(ref ObjectRef) (ObjectView, error)
	// Accept defines (or redefines) ref's method selector from source as
	// one transaction. A compile error is a *vm.Error with Kind
	// "CompileError" and the 1-based Line within source (see ErrorLine).
	Accept(ref ObjectRef, selector, source string) error
}

// ErrPending is returned by an asynchronous Image whose answer has not
// arrived yet.
var ErrPending = errors.New("browser: answer pending")

// ObjectRef names an object of the image: by OID when it has one, else by
// its global name.
type ObjectRef struct {
	OID   vm.OID
	Name  string // global name or display name
	Kind  string // "object", "trait", "table"
	Proto string // display name of the prototype, "" if none
	Slot  string // for an answer of Children: the parent's slot holding it
}

// ObjectView is a snapshot of one object, as the middle pane shows it.
type ObjectView struct {
	Ref       ObjectRef
	Chain     []ObjectRef // prototypes, nearest first
	Traits    []ObjectRef
	Slots     []SlotView   // own data slots, sorted by key
	Methods   []MethodView // own methods, sorted by selector
	Conflicts []Conflict   // unresolved trait conflicts, sorted by selector
}

// SlotView is one data slot and the printString of its value.
type SlotView struct {
	Name  string
	Value string
}

// MethodView is one method and its source.
type MethodView struct {
	Selector string
	Source   string
}

// Conflict is a selector that several traits provide.
type Conflict struct {
	Selector string
	Traits   []string
}

// Method returns the method selector of v, if v has it.
func (v *ObjectView) Method(selector string) (MethodView, bool) {
	for _, m := range v.Methods {
		if m.Selector == selector {
			return m, true
		}
	}
	return MethodView{}, false
}

// ErrorLine returns the 1-based line of a compile error, or 0.
func ErrorLine(err error) int {
	var e *vm.Error
	if errors.As(err, &e) && e.Kind == "CompileError" {
		return e.Line
	}
	return 0
}

// VMImage implements Image synchronously over a VM, for tests and for
// wiring that already runs on the VM's goroutine. It must not be used from
// several goroutines at once.
type VMImage struct {
	VM *vm.VM
	// Author of accepted methods (default vm's human author).
	Author vm.Author
}

// Globals implements Image.
func (m VMImage) Globals() ([]ObjectRef, error) {
	v := m.VM
	var out []ObjectRef
	lobby := v.Lobby()
	for _, k := range lobby.SlotNames() {
		name := k.String()
		o := v.Global(name)
		if o == nil {
			continue
		}
		out = append(out, m.ref(o, name))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m VMImage) ref(o *vm.Object, name string) ObjectRef {
	if name == "" {
		name = o.DisplayName()
	}
	r := ObjectRef{OID: o.OID(), Name: name, Kind: o.Kind().String()}
	if p := o.Proto(); p != nil {
		r.Proto = p.DisplayName()
	}
	return r
}

func (m VMImage) object(ref ObjectRef) (*vm.Object, error) {
	if ref.OID != 0 {
		return m.VM.Object(ref.OID)
	}
	if o := m.VM.Global(ref.Name); o != nil {
		return o, nil
	}
	return nil, fmt.Errorf("browser: no object %q in the Lobby", ref.Name)
}

// Children implements Image. Objects without an OID (transient ones) are
// left out, since a reference could not find them again.
func (m VMImage) Children(ref ObjectRef) ([]ObjectRef, error) {
	o, err := m.object(ref)
	if err != nil {
		return nil, err
	}
	parent := ref.Name
	if parent == "" {
		parent = o.DisplayName()
	}
	var out []ObjectRef
	t := o.T()
	for _, k := range o.SlotNames() {
		c := m.VM.ObjectOf(t.RawGet(k))
		if c == nil || c.OID() == 0 || c.Kind() == vm.KindTable {
			continue
		}
		key := k.String()
		name := c.Name()
		if name == "" {
			name = parent + "." + key
		}
		r := m.ref(c, name)
		r.Slot = key
		out = append(out, r)
	}
	return out, nil
}

// Describe implements Image.
func (m VMImage) Describe(ref ObjectRef) (ObjectView, error) {
	v := m.VM
	o, err := m.object(ref)
	if err != nil {
		return ObjectView{}, err
	}
	view := ObjectView{Ref: m.ref(o, ref.Name)}
	for p := o.Proto(); p != nil; p = p.Proto() {
		view.Chain = append(view.Chain, m.ref(p, ""))
	}
	for _, t := range o.TraitObjects() {
		view.Traits = append(view.Traits, m.ref(t, ""))
	}
	t := o.T()
	for _, k := range o.SlotNames() {
		s, err := v.PrintString(t.RawGet(k))
		if err != nil {
			s = "<" + err.Error() + ">"
		}
		view.Slots = append(view.Slots, SlotView{Name: k.String(), Value: s})
	}
	for _, sel := range o.MethodNames() {
		src, _ := v.MethodSource(o, sel)
		view.Methods = append(view.Methods, MethodView{Selector: sel, Source: src})
	}
	for sel, traits := range o.Conflicts() {
		view.Conflicts = append(view.Conflicts, Conflict{Selector: sel, Traits: append([]string(nil), traits...)})
	}
	sort.Slice(view.Conflicts, func(i, j int) bool { return view.Conflicts[i].Selector < view.Conflicts[j].Selector })
	return view, nil
}

// Accept implements Image.
func (m VMImage) Accept(ref ObjectRef, selector, source string) error {
	o, err := m.object(ref)
	if err != nil {
		return err
	}
	return m.VM.Do(context.Background(), vm.TxOptions{Author: m.Author}, func() error {
		return m.VM.DefineMethod(o, selector, source)
	})
}
