package vm

import (
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/phoenix-image/phoenix/vm/luasrc"
)

// loadMethod compiles a stored method source. A source that no longer
// compiles (impossible through Phoenix, but an image is a file) is kept
// verbatim behind a stub that reports the compile error when called, so
// that committing the object again loses nothing.
func (v *VM) loadMethod(owner *Object, sel, source string) lua.LValue {
	label := owner.labelName() + ">>" + sel
	fn, err := v.compileMethod(label, source)
	if err == nil {
		return fn
	}
	msg := strings.ReplaceAll("method "+label+" cannot be compiled: "+err.Error(), "]==]", "] ==]")
	proto, cerr := v.compile("return function() error([==["+msg+"]==], 2) end", label)
	if cerr != nil {
		panic(cerr) // the stub is constant apart from the long string
	}
	p := proto.FunctionPrototypes[0]
	v.srcs[p] = &funcInfo{source: source, line: 1, chunk: label, label: label, pinned: true}
	stub := v.L.NewFunctionFromProto(p)
	stub.Env = v.env
	return stub
}

// compileMethod compiles one method source (a definition statement or an
// anonymous function expression) into a function with no upvalues.
func (v *VM) compileMethod(label, source string) (*lua.LFunction, error) {
	expr, _, err := luasrc.Expression(source)
	if err != nil {
		return nil, &Error{Kind: "CompileError", Chunk: label, Message: fmt.Sprintf("%s: %v", label, err), Err: err}
	}
	chunk, err := parse.Parse(strings.NewReader("return "+expr), label)
	if err != nil {
		return nil, compileError(label, err)
	}
	proto, err := lua.Compile(chunk, label)
	if err != nil {
		return nil, compileError(label, err)
	}
	if len(proto.FunctionPrototypes) == 0 {
		return nil, &Error{Kind: "CompileError", Chunk: label, Message: label + ": not a function"}
	}
	v.registerSources(proto, "return "+expr, label, label)
	mp := proto.FunctionPrototypes[0]
	info := v.srcs[mp]
	if info == nil {
		info = &funcInfo{chunk: label, label: label, line: 1}
		v.srcs[mp] = info
	}
	info.source = source
	info.pinned = true
	v.pinTree(mp)
	fn := v.L.NewFunctionFromProto(mp)
	fn.Env = v.env
	return fn, nil
}

func (v *VM) pinTree(p *lua.FunctionProto) {
	for _, c := range p.FunctionPrototypes {
		if info := v.srcs[c]; info != nil {
			info.pinned = true
		}
		v.pinTree(c)
	}
}

// labelName names an object in method labels without faulting anything.
func (o *Object) labelName() string {
	if o.name != "" {
		return o.name
	}
	if o.oid == LobbyOID {
		return "Lobby"
	}
	if o.proto != nil && o.proto.name != "" {
		return article(o.proto.name) + " " + o.proto.name
	}
	return fmt.Sprintf("object#%d", o.oid)
}

// DefineMethod compiles source and installs it as a method of o (an object
// or a trait), inside the running transaction or as one of its own. source
// is a definition (function Account:deposit(n) ... end) or an anonymous
// function expression taking self first. If selector is "", the header's
// selector is used. Compile errors come back as *Error with the line.
func (v *VM) DefineMethod(o *Object, selector, source string) error {
	if err := o.ensure(); err != nil {
		return err
	}
	if o.kind == KindTable {
		return fmt.Errorf("a plain table cannot hold methods")
	}
	_, f, err := luasrc.Expression(source)
	if err != nil {
		return &Error{Kind: "CompileError", Message: err.Error(), Err: err}
	}
	if selector == "" {
		selector = f.Selector
	}
	if selector == "" {
		return &Error{Kind: "CompileError", Message: "the source does not name a selector (write function Obj:selector(...) ... end)"}
	}
	if f.Selector != "" && f.Selector != selector {
		return &Error{Kind: "CompileError", Message: fmt.Sprintf("the source defines %q, not %q", f.Selector, selector)}
	}
	label := o.labelName() + ">>" + selector
	fn, err := v.compileMethod(label, source)
	if err != nil {
		return err
	}
	v.setSlot(o, selector, fn)
	return nil
}

// DefineMethodBy is DefineMethod with provenance: the method history records
// author and note (e.g. the agent, and which model proposed it and who
// approved it) instead of the transaction's author. It must run inside a
// transaction (VM.Do).
func (v *VM) DefineMethodBy(o *Object, selector, source string, author Author, note string) error {
	if v.tx == nil {
		return fmt.Errorf("DefineMethodBy needs a running transaction (VM.Do)")
	}
	if err := v.DefineMethod(o, selector, source); err != nil {
		return err
	}
	if selector == "" {
		if _, f, err := luasrc.Expression(source); err == nil {
			selector = f.Selector
		}
	}
	if v.tx.provenance == nil {
		v.tx.provenance = map[provKey]provenance{}
	}
	v.tx.provenance[provKey{o, selector}] = provenance{author, note}
	return nil
}

// RemoveMethod removes o's own method selector.
func (v *VM) RemoveMethod(o *Object, selector string) error {
	if err := o.ensure(); err != nil {
		return err
	}
	if _, ok := o.data().RawGetString(selector).(*lua.LFunction); !ok {
		return fmt.Errorf("%s has no method %q", o.DisplayName(), selector)
	}
	v.setSlot(o, selector, lua.LNil)
	return nil
}

func (v *VM) setSlot(o *Object, key string, val lua.LValue) {
	if o.oid != 0 {
		v.touch(o)
	}
	o.data().RawSetString(key, val)
	if o.kind == KindTrait {
		v.refreshUsers(o)
	}
}

// MethodNames lists o's own methods, sorted.
func (o *Object) MethodNames() []string {
	o.mustEnsure()
	var out []string
	rawEach(o.data(), func(k, val lua.LValue) {
		if ks, ok := k.(lua.LString); ok {
			if _, isFn := val.(*lua.LFunction); isFn {
				out = append(out, string(ks))
			}
		}
	})
	sort.Strings(out)
	return out
}

// SlotNames lists o's own data slots (not methods), sorted by their printed key.
func (o *Object) SlotNames() []lua.LValue {
	o.mustEnsure()
	var out []lua.LValue
	rawEach(o.data(), func(k, val lua.LValue) {
		if _, isFn := val.(*lua.LFunction); !isFn {
			out = append(out, k)
		}
	})
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i], out[j]) })
	return out
}

func keyLess(a, b lua.LValue) bool {
	an, aNum := a.(lua.LNumber)
	bn, bNum := b.(lua.LNumber)
	switch {
	case aNum && bNum:
		return an < bn
	case aNum != bNum:
		return aNum
	}
	return a.String() < b.String()
}

// MethodSource returns the source of o's own method selector.
func (v *VM) MethodSource(o *Object, selector string) (string, bool) {
	if err := o.ensure(); err != nil {
		return "", false
	}
	val := o.data().RawGetString(selector)
	if _, ok := val.(*lua.LFunction); !ok {
		return "", false
	}
	return v.sourceOf(val), true
}

// Lookup finds selector along o's lookup (own, traits, prototypes) and
// returns the method and the object or trait that provides it.
func (v *VM) Lookup(o *Object, selector string) (lua.LValue, *Object) {
	for p := o; p != nil; p = p.proto {
		p.mustEnsure()
		if val := p.data().RawGetString(selector); val != lua.LNil {
			return val, p
		}
		if p.flat != nil {
			if val := p.flat.RawGetString(selector); val != lua.LNil {
				for _, u := range p.traits {
					if u.trait.methods.RawGetString(selector) != lua.LNil {
						return val, u.trait
					}
				}
				return val, p
			}
		}
	}
	return lua.LNil, nil
}
