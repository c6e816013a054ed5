package vm

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/traits"
)

// Object is the VM's view of one prototype object, trait or persistent plain
// table. Its identity for Lua code is the table T(); everything else is
// bookkeeping the Lua code never sees.
type Object struct {
	vm   *VM
	oid  OID // 0 while transient
	kind Kind
	t    *lua.LTable // identity; slots and own methods, raw (empty proxy for traits)
	mt   *lua.LTable // private metatable (objects and traits)

	methods   *lua.LTable // traits: the methods behind the proxy
	flat      *lua.LTable // objects with traits: flattened trait methods
	proto     *Object
	name      string
	traits    []traitUse
	conflicts map[string][]string // selector -> trait names, for objects with traits

	faulted   bool                 // not loaded yet: t is an empty table with a fault metatable
	cached    bool                 // faulted, but the contents are in shadow (armed after a commit)
	touched   bool                 // on the VM's touched list
	fmt       *lua.LTable          // fault metatable (of tables, and of objects before their first load)
	index     lua.LValue           // what o.mt.__index is when o is loaded
	shadow    []kv                 // contents at the last commit (persistent objects)
	next      []kv                 // contents being committed
	metaDirty bool                 // proto, name or traits changed in this transaction
	pending   bool                 // OID assigned by a commit in progress
	queued    bool                 // in the commit queue
	users     map[*Object]struct{} // traits: loaded objects that use this trait

	// Where the object was first found (for error messages).
	parent    *Object
	parentKey lua.LValue
}

type kv struct{ k, v lua.LValue }

type traitUse struct {
	trait   *Object
	exclude []string
	aliases []Alias
}

// OID returns the object's id, or 0 for an object that has never been committed.
func (o *Object) OID() OID { return o.oid }

// Kind says whether o is an object, a trait or a plain table.
func (o *Object) Kind() Kind { return o.kind }

// T returns the Lua table that is the object's identity, loaded, so that Go
// code may read it raw.
func (o *Object) T() *lua.LTable {
	if o.faulted {
		if err := o.ensure(); err != nil {
			o.vm.log.Debug("cannot load object", "oid", o.oid, "err", err)
		}
	}
	return o.t
}

// Name is the global name the object was first bound to, or "".
func (o *Object) Name() string { return o.name }

// Proto returns the prototype, or nil.
func (o *Object) Proto() *Object { return o.proto }

// data is the table that holds what gets persisted.
func (o *Object) data() *lua.LTable {
	if o.kind == KindTrait {
		return o.methods
	}
	return o.t
}

// objectOf returns the Object behind a Lua value, or nil for values that are
// not Phoenix objects or persistent tables. A fault is loaded first, so the
// caller sees its kind; objectOfRaw does not load (for the commit encoder,
// which only needs the OID).
func (v *VM) objectOf(lv lua.LValue) *Object {
	o := v.objectOfRaw(lv)
	if o != nil && o.faulted {
		if err := o.ensure(); err != nil {
			v.log.Debug("cannot load object", "oid", o.oid, "err", err)
		}
	}
	return o
}

func (v *VM) objectOfRaw(lv lua.LValue) *Object {
	t, ok := lv.(*lua.LTable)
	if !ok {
		return nil
	}
	if mt, ok := t.Metatable.(*lua.LTable); ok {
		if ud, ok := mt.RawGetString("__phx").(*lua.LUserData); ok {
			if o, ok := ud.Value.(*Object); ok {
				return o
			}
		}
	}
	return v.byTable[t]
}

// ObjectOf returns the object behind a Lua value, loaded, or nil.
func (v *VM) ObjectOf(lv lua.LValue) *Object {
	o := v.objectOf(lv)
	if o != nil && o.faulted {
		return nil
	}
	return o
}

// tableFor returns the table for oid, creating a fault for an object that
// is not loaded yet.
func (v *VM) tableFor(oid OID) *lua.LTable {
	if o := v.objs[oid]; o != nil {
		return o.t
	}
	o := &Object{vm: v, oid: oid, faulted: true, t: v.L.CreateTable(0, 4)}
	o.t.Metatable = v.faultMetaFor(o)
	v.objs[oid] = o
	return o.t
}

// faultMetaFor returns o's fault metatable: the shared fault metamethods
// and o itself.
func (v *VM) faultMetaFor(o *Object) *lua.LTable {
	if o.fmt == nil {
		fm := v.L.CreateTable(0, 8)
		fm.RawSetString("__phx", &lua.LUserData{Value: o})
		for _, name := range faultEvents {
			fm.RawSetString(name, v.faultMeta.RawGetString(name))
		}
		o.fmt = fm
	}
	return o.fmt
}

// arm empties a persistent object's table and gives it its fault
// metatable again, keeping the contents in its shadow. The next touch —
// any access goes through a metamethod or a fault-aware library function —
// refills it from memory and puts it on the touched list, so a commit only
// has to compare what the transaction touched. The Lobby (read raw by every
// global lookup) and traits (whose writes are always seen) are never armed.
func (v *VM) arm(o *Object) {
	if o.faulted || o.oid == 0 || o.kind == KindTrait || o == v.lobby {
		return
	}
	d := o.t
	keys := v.keyBuf[:0]
	rawEach(d, func(k, _ lua.LValue) { keys = append(keys, k) })
	for _, k := range keys {
		d.RawSet(k, lua.LNil)
	}
	clear(keys)
	v.keyBuf = keys[:0]
	if o.kind == KindObject {
		// An object keeps its own metatable, switched to fault mode:
		// cheaper than a second metatable per object.
		o.mt.RawSetString("__index", v.faultIndex)
		o.mt.RawSetString("__newindex", v.faultNewIndex)
		o.mt.RawSetString("__len", v.faultLen)
	} else {
		d.Metatable = v.faultMetaFor(o)
	}
	o.faulted, o.cached = true, true
}

// touch records that o is loaded in this transaction.
func (v *VM) touch(o *Object) {
	if !o.touched {
		o.touched = true
		v.touched = append(v.touched, o)
	}
}

var faultEvents = [...]string{"__metatable", "__index", "__newindex", "__len", "__tostring"}

// ensure faults o in if needed: from its shadow if it was armed, from the
// store otherwise.
func (o *Object) ensure() error {
	if !o.faulted {
		return nil
	}
	v := o.vm
	if o.cached {
		d := o.t
		for _, e := range o.shadow {
			d.RawSet(e.k, e.v)
		}
		if o.kind == KindTable {
			d.Metatable = lua.LNil
		} else {
			o.mt.RawSetString("__index", o.index)
			o.mt.RawSetString("__newindex", lua.LNil)
			o.mt.RawSetString("__len", lua.LNil)
		}
		o.faulted, o.cached = false, false
		v.touch(o)
		return nil
	}
	if err := v.load(o); err != nil {
		return err
	}
	v.touch(o)
	return nil
}

// mustEnsure faults o in or raises a Lua error.
func (o *Object) mustEnsure() {
	if err := o.ensure(); err != nil {
		o.vm.L.RaiseError("%s", err.Error())
	}
}

// load fills a fault from its record.
func (v *VM) load(o *Object) error {
	rec, err := v.store.Load(o.oid)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("image: object %d is referenced but missing: %w", o.oid, err)
		}
		return err // the store's errors name the object and the place
	}
	o.faulted = false
	o.kind = rec.Kind
	o.name = rec.Name
	switch rec.Kind {
	case KindTable:
		o.t.Metatable = lua.LNil
		v.byTable[o.t] = o
	case KindObject, KindTrait:
		if rec.Kind == KindTrait {
			o.methods = v.L.CreateTable(0, 4)
		}
		o.mt = v.newMeta(o)
		o.t.Metatable = o.mt
		if rec.Proto != 0 {
			v.tableFor(rec.Proto)
			o.proto = v.objs[rec.Proto]
		}
	default:
		o.faulted = true
		return fmt.Errorf("image: object %d: unknown kind %d", o.oid, rec.Kind)
	}
	data := o.data()
	o.shadow = make([]kv, 0, len(rec.Slots))
	for _, s := range rec.Slots {
		k := v.decode(s.Key, o, "")
		if k == lua.LNil {
			continue
		}
		sel := ""
		if ks, ok := k.(lua.LString); ok {
			sel = string(ks)
		}
		val := v.decode(s.Val, o, sel)
		if s.Val.Kind == VRef {
			if c := v.objs[s.Val.Ref]; c != nil && c.parent == nil && c != o {
				c.parent, c.parentKey = o, k
			}
		}
		data.RawSet(k, val)
		o.shadow = append(o.shadow, kv{k, val})
	}
	o.traits = o.traits[:0]
	for _, tu := range rec.Traits {
		v.tableFor(tu.Trait)
		tr := v.objs[tu.Trait]
		if err := tr.ensure(); err != nil {
			return fmt.Errorf("image: object %d uses trait %d: %w", o.oid, tu.Trait, err)
		}
		o.traits = append(o.traits, traitUse{trait: tr, exclude: tu.Exclude, aliases: tu.Aliases})
		tr.addUser(o)
	}
	v.relink(o)
	return nil
}

// decode turns a persistent value into a Lua value.
func (v *VM) decode(val Value, owner *Object, sel string) lua.LValue {
	switch val.Kind {
	case VNil:
		return lua.LNil
	case VFalse:
		return lua.LFalse
	case VTrue:
		return lua.LTrue
	case VNumber:
		return lua.LNumber(val.Num)
	case VString:
		return lua.LString(val.Str)
	case VRef:
		return v.tableFor(val.Ref)
	case VMethod:
		return v.loadMethod(owner, sel, val.Str)
	case VPrimitive:
		if fn := v.prims[val.Str]; fn != nil {
			return fn
		}
		// An unknown primitive (an image from a newer Phoenix): keep a
		// function that says so, and keep its name for the next commit.
		fn := v.L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("primitive %q is not available in this version of Phoenix", val.Str)
			return 0
		})
		v.primNames[fn] = val.Str
		return fn
	}
	return lua.LNil
}

// newMeta builds the private metatable of an object or trait.
func (v *VM) newMeta(o *Object) *lua.LTable {
	mt := v.L.CreateTable(0, 4)
	mt.RawSetString("__phx", &lua.LUserData{Value: o})
	mt.RawSetString("__metatable", lua.LString("phoenix object"))
	mt.RawSetString("__tostring", v.tostringFn)
	if o.kind == KindTrait {
		mt.RawSetString("__newindex", v.traitSetFn)
	}
	return mt
}

// relink points o's lookup chain at its traits and prototype. Own slots
// come first (they are raw in o.t), then flattened trait methods, then the
// prototype chain.
func (v *VM) relink(o *Object) {
	switch o.kind {
	case KindTable:
		return
	case KindTrait:
		mm := v.L.CreateTable(0, 4)
		if o.proto != nil {
			mm.RawSetString("__index", o.proto.t)
		}
		o.methods.Metatable = mm
		o.mt.RawSetString("__index", o.methods)
		return
	}
	var next lua.LValue = v.missFn
	if o.proto != nil {
		next = o.proto.t
	}
	if len(o.traits) == 0 {
		o.flat = nil
		o.conflicts = nil
		o.setIndex(next)
		return
	}
	flat := v.L.CreateTable(0, 4)
	fm := v.L.CreateTable(0, 4)
	fm.RawSetString("__index", next)
	flat.Metatable = fm
	o.conflicts = v.flatten(o, flat)
	o.flat = flat
	o.setIndex(flat)
}

// setIndex points o's lookup at next, unless o is armed (then the fault
// __index stays until the next touch restores it).
func (o *Object) setIndex(next lua.LValue) {
	o.index = next
	if !o.faulted {
		o.mt.RawSetString("__index", next)
	}
}

// flatten composes o's traits into flat (package traits does the algebra)
// and returns the conflicts. A conflicting selector gets a function that
// reports the conflict when called.
func (v *VM) flatten(o *Object, flat *lua.LTable) map[string][]string {
	uses := make([]traits.Use[lua.LValue], 0, len(o.traits))
	for _, tu := range o.traits {
		tr := tu.trait
		tr.mustEnsure()
		u := traits.Use[lua.LValue]{Name: tr.DisplayName(), Methods: map[string]lua.LValue{}, Exclude: tu.exclude}
		tr.methods.ForEach(func(k, fn lua.LValue) {
			if s, ok := k.(lua.LString); ok {
				u.Methods[string(s)] = fn
			}
		})
		if len(tu.aliases) > 0 {
			u.Aliases = map[string]string{}
			for _, a := range tu.aliases {
				u.Aliases[a.New] = a.Old
			}
		}
		uses = append(uses, u)
	}
	c := traits.Compose(uses)
	for sel, fn := range c.Methods {
		flat.RawSetString(sel, fn)
	}
	for sel, names := range c.Conflicts {
		flat.RawSetString(sel, v.conflictFunction(o, sel, names))
	}
	return c.Conflicts
}

func conflictMessage(o *Object, sel string, traits []string) string {
	return fmt.Sprintf("trait conflict in %s: selector %q is provided by both %s; exclude it from one trait or alias it",
		o.DisplayName(), sel, strings.Join(traits, " and "))
}

func (v *VM) conflictFunction(o *Object, sel string, traits []string) *lua.LFunction {
	msg := conflictMessage(o, sel, traits)
	return v.L.NewFunction(func(L *lua.LState) int {
		v.raise("TraitConflict", msg)
		return 0
	})
}

func (tr *Object) addUser(o *Object) {
	if tr.users == nil {
		tr.users = map[*Object]struct{}{}
	}
	tr.users[o] = struct{}{}
}

// refreshUsers recomposes every loaded object that uses trait tr.
func (v *VM) refreshUsers(tr *Object) {
	for u := range tr.users {
		if !u.faulted || u.cached {
			v.relink(u)
		}
	}
}

// DisplayName is how the object is named in messages: its global name, or
// "a Proto" / "an Object".
func (o *Object) DisplayName() string {
	if o.name != "" {
		return o.name
	}
	switch o.kind {
	case KindTable:
		return "a table"
	case KindTrait:
		return "an anonymous trait"
	}
	for p := o.proto; p != nil; p = p.proto {
		p.mustEnsure()
		if p.name != "" {
			return article(p.name) + " " + p.name
		}
	}
	return "an Object"
}

func article(name string) string {
	if name != "" && strings.ContainsRune("AEIOUaeiou", rune(name[0])) {
		return "an"
	}
	return "a"
}

// newObject makes a transient object (or trait) with the given prototype.
func (v *VM) newObject(kind Kind, proto *Object) *Object {
	o := &Object{vm: v, kind: kind, t: v.L.CreateTable(0, 4), proto: proto}
	if kind == KindTrait {
		o.methods = v.L.CreateTable(0, 4)
	}
	o.mt = v.newMeta(o)
	o.t.Metatable = o.mt
	v.relink(o)
	return o
}

// Clone makes a new object that delegates to o.
func (v *VM) Clone(o *Object) (*Object, error) {
	if err := o.ensure(); err != nil {
		return nil, err
	}
	switch {
	case o == v.trait:
		return v.newObject(KindTrait, v.trait), nil
	case o.kind == KindTrait:
		return nil, fmt.Errorf("cannot clone trait %s: make a new trait with Trait:clone()", o.DisplayName())
	case o.kind == KindTable:
		return nil, fmt.Errorf("cannot clone a plain table")
	}
	return v.newObject(KindObject, o), nil
}

// setMeta records a metadata change to o for the running transaction.
func (v *VM) setMeta(o *Object, change func(), undo func()) {
	change()
	o.metaDirty = true
	if o.oid != 0 {
		v.touch(o)
	}
	if v.tx != nil {
		v.tx.undo = append(v.tx.undo, undo)
	}
}

// SetName gives o a global name (done automatically the first time an
// unnamed object is assigned to a global).
func (v *VM) SetName(o *Object, name string) {
	old := o.name
	v.setMeta(o, func() { o.name = name }, func() { o.name = old })
}

// SetProto changes o's prototype.
func (v *VM) SetProto(o *Object, p *Object) error {
	if o.kind != KindObject {
		return fmt.Errorf("%s: only objects have a settable prototype", o.DisplayName())
	}
	for q := p; q != nil; q = q.proto {
		if q == o {
			return fmt.Errorf("%s: prototype cycle", o.DisplayName())
		}
		q.mustEnsure()
	}
	if o == v.object {
		return fmt.Errorf("Object is the root prototype and has none")
	}
	old := o.proto
	v.setMeta(o, func() { o.proto = p; v.relink(o) }, func() { o.proto = old; v.relink(o) })
	return nil
}

// SetTraits replaces o's trait composition. It fails, changing nothing, if
// the composition has unresolved conflicts.
func (v *VM) SetTraits(o *Object, uses []traitUse) error {
	if o.kind != KindObject {
		return fmt.Errorf("%s: only objects use traits", o.DisplayName())
	}
	seen := map[*Object]bool{}
	for _, u := range uses {
		if seen[u.trait] {
			return fmt.Errorf("%s uses trait %s twice", o.DisplayName(), u.trait.DisplayName())
		}
		seen[u.trait] = true
	}
	old := o.traits
	apply := func(ts []traitUse) {
		for _, u := range o.traits {
			delete(u.trait.users, o)
		}
		o.traits = ts
		for _, u := range ts {
			u.trait.addUser(o)
		}
		v.relink(o)
	}
	apply(uses)
	if len(o.conflicts) > 0 {
		sels := make([]string, 0, len(o.conflicts))
		for s := range o.conflicts {
			sels = append(sels, s)
		}
		sort.Strings(sels)
		msg := conflictMessage(o, sels[0], o.conflicts[sels[0]])
		apply(old)
		return &Error{Kind: "TraitConflict", Message: msg}
	}
	v.setMeta(o, func() {}, func() { apply(old) })
	return nil
}

// Traits lists o's trait composition.
func (o *Object) Traits() []TraitUse {
	out := make([]TraitUse, len(o.traits))
	for i, u := range o.traits {
		out[i] = TraitUse{Trait: u.trait.oid, Exclude: u.exclude, Aliases: u.aliases}
	}
	return out
}

// TraitObjects lists the traits o uses.
func (o *Object) TraitObjects() []*Object {
	out := make([]*Object, len(o.traits))
	for i, u := range o.traits {
		out[i] = u.trait
	}
	return out
}

// Conflicts returns unresolved trait conflicts: selector -> trait names.
func (o *Object) Conflicts() map[string][]string { return o.conflicts }

// rawEach calls fn for every non-nil entry of t. It walks with Next, which
// follows gopher-lua's key list instead of starting a Go map iteration:
// for the small tables most objects are, that is several times cheaper
// than LTable.ForEach (it dominated commit time in profiles).
func rawEach(t *lua.LTable, fn func(k, v lua.LValue)) {
	k, v := t.Next(lua.LNil)
	for k != lua.LNil {
		fn(k, v)
		k, v = t.Next(k)
	}
}
