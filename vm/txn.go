package vm

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// txn is the bookkeeping of one running transaction. Slot writes are not
// logged (gopher-lua cannot observe them); they are found at commit by
// comparing loaded tables with their shadows. Metadata changes made through
// Go (names, prototypes, trait compositions) log an undo function.
type txn struct {
	undo       []func()
	compiled   []*lua.FunctionProto
	provenance map[provKey]provenance // who made a method change, when not the transaction's author
}

type provKey struct {
	obj *Object
	sel string
}

type provenance struct {
	author Author
	note   string
}

func (v *VM) begin() { v.tx = &txn{} }

// InTransaction reports whether a transaction is running.
func (v *VM) InTransaction() bool { return v.tx != nil }

// changed reports whether o's data differs from its shadow.
func (o *Object) changed() bool {
	if o.faulted || o.oid == 0 {
		return false
	}
	d := o.data()
	n := 0
	rawEach(d, func(_, _ lua.LValue) { n++ })
	if n != len(o.shadow) {
		return true
	}
	for _, e := range o.shadow {
		if d.RawGet(e.k) != e.v {
			return true
		}
	}
	return false
}

// restore refills o's table from its shadow, keeping the table's identity.
func (o *Object) restore() {
	d := o.data()
	var keys []lua.LValue
	rawEach(d, func(k, _ lua.LValue) { keys = append(keys, k) })
	for _, k := range keys {
		d.RawSet(k, lua.LNil)
	}
	for _, e := range o.shadow {
		d.RawSet(e.k, e.v)
	}
}

func (v *VM) rollback() {
	tx := v.tx
	v.tx = nil
	if tx == nil {
		return
	}
	for _, o := range v.candidates() {
		if o.changed() {
			o.restore()
			if o.kind == KindTrait {
				v.refreshUsers(o)
			}
		}
	}
	for i := len(tx.undo) - 1; i >= 0; i-- {
		tx.undo[i]()
	}
	v.settle(nil)
	v.forget(tx)
}

// candidates are the objects a transaction may have changed: those it
// touched (loaded, refilled, or changed through Go), and the Lobby.
func (v *VM) candidates() []*Object {
	out := v.touched
	if v.lobby != nil && !v.lobby.touched {
		out = append(out[:len(out):len(out)], v.lobby)
	}
	return out
}

// settle ends a transaction's bookkeeping: every touched object (and every
// object committed) is armed again.
func (v *VM) settle(committed []*Object) {
	for _, o := range v.touched {
		o.touched = false
		v.arm(o)
	}
	for _, o := range committed {
		o.touched = false
		v.arm(o)
	}
	v.touched = v.touched[:0]
}

// forget drops the source records of functions compiled in tx that no
// committed method keeps.
func (v *VM) forget(tx *txn) {
	for _, p := range tx.compiled {
		if info := v.srcs[p]; info != nil && !info.pinned {
			delete(v.srcs, p)
		}
	}
}

// CommitError says why a transaction could not be committed.
type CommitError struct {
	Path   string // where the offending value sits, e.g. Account.log[3]
	Reason string
	Err    error
}

func (e *CommitError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("commit failed: %s", e.Reason)
	}
	return fmt.Sprintf("commit failed: cannot persist %s: %s", e.Path, e.Reason)
}

func (e *CommitError) Unwrap() error { return e.Err }

// commit writes everything the transaction changed as one batch.
func (v *VM) commit() error {
	tx := v.tx
	enc := &encoder{v: v, now: v.opts.Clock().UTC()}
	for _, o := range v.candidates() {
		if o.faulted || o.oid == 0 {
			continue
		}
		if o.metaDirty || o.changed() {
			enc.enqueue(o)
		}
	}
	var err error
	for i := 0; i < len(enc.queue) && err == nil; i++ {
		err = enc.encode(enc.queue[i])
	}
	if err == nil && len(enc.queue) > 0 {
		err = v.store.Commit(&Batch{Puts: enc.recs, History: enc.history, NextOID: v.nextOID})
		if err != nil {
			err = &Error{Kind: "CommitError", Message: "commit failed: " + err.Error(), Err: err}
		}
	}
	for _, o := range enc.queue {
		o.queued = false
	}
	if err != nil {
		for _, o := range enc.fresh {
			delete(v.objs, o.oid)
			o.oid, o.pending = 0, false
			if o.kind == KindTable {
				delete(v.byTable, o.t)
			}
		}
		v.tx = tx
		v.rollback()
		if ce, ok := err.(*CommitError); ok {
			return &Error{Kind: "CommitError", Message: ce.Error(), Err: ce}
		}
		return err
	}
	for _, o := range enc.queue {
		o.pending = false
		o.metaDirty = false
		o.shadow, o.next = o.next, nil // the contents just encoded
		v.objs[o.oid] = o
		if o.kind == KindTable {
			v.byTable[o.t] = o
		}
	}
	v.tx = nil
	v.settle(enc.queue)
	v.forget(tx)
	return nil
}

// pathName names o for error messages: its global name, or the slot path
// where it was first found (Account.log[3]), or its kind and OID.
func (o *Object) pathName() string {
	return o.pathNameDepth(8)
}

func (o *Object) pathNameDepth(depth int) string {
	switch {
	case o.name != "":
		return o.name
	case o.oid == LobbyOID:
		return "Lobby"
	case o.parent == o.vm.lobby && o.parentKey != nil:
		if s, ok := o.parentKey.(lua.LString); ok && isIdent(string(s)) {
			return string(s)
		}
	}
	if o.parent != nil && depth > 0 {
		return slotPath(o.parent.pathNameDepth(depth-1), o.parentKey)
	}
	return fmt.Sprintf("%s (object %d)", o.DisplayName(), o.oid)
}

type encoder struct {
	v         *VM
	slotArena []Slot
	kvArena   []kv
	queue     []*Object
	fresh     []*Object // given an OID by this commit
	recs      []*Record
	history   []MethodChange
	now       time.Time
}

func (e *encoder) enqueue(o *Object) {
	if o.queued {
		return
	}
	o.queued = true
	e.queue = append(e.queue, o)
}

func (e *encoder) encode(o *Object) error {
	rec := &Record{OID: o.oid, Kind: o.kind, Name: o.name}
	if o.proto != nil {
		rec.Proto = e.ref(o.proto, o, nil)
	}
	for _, u := range o.traits {
		rec.Traits = append(rec.Traits, TraitUse{Trait: e.ref(u.trait, o, nil), Exclude: u.exclude, Aliases: u.aliases})
	}
	var err error
	hasFn := false
	// Slots and the next shadow are carved out of per-commit arenas: one
	// allocation per many objects instead of several per object.
	slotStart, kvStart := len(e.slotArena), len(e.kvArena)
	rawEach(o.data(), func(k, val lua.LValue) {
		if err != nil {
			return
		}
		e.kvArena = append(e.kvArena, kv{k, val})
		var ks, vs Value
		if ks, err = e.value(k, o, k, false); err != nil {
			return
		}
		if _, ok := val.(*lua.LFunction); ok {
			hasFn = true
		}
		vs, err = e.value(val, o, k, true)
		e.slotArena = append(e.slotArena, Slot{ks, vs})
	})
	if err != nil {
		return err
	}
	rec.Slots = e.slotArena[slotStart:len(e.slotArena):len(e.slotArena)]
	o.next = e.kvArena[kvStart:len(e.kvArena):len(e.kvArena)]
	if len(rec.Slots) > 1 {
		slices.SortFunc(rec.Slots, func(a, b Slot) int { return cmpValue(a.Key, b.Key) })
	}
	e.recs = append(e.recs, rec)
	if o.kind != KindTable && (hasFn || shadowHasFunction(o)) {
		e.methodHistory(o)
	}
	return nil
}

func shadowHasFunction(o *Object) bool {
	for _, s := range o.shadow {
		if _, ok := s.v.(*lua.LFunction); ok {
			return true
		}
	}
	return false
}

func (e *encoder) methodHistory(o *Object) {
	old := map[string]lua.LValue{}
	for _, s := range o.shadow {
		if k, ok := s.k.(lua.LString); ok {
			if _, isFn := s.v.(*lua.LFunction); isFn {
				old[string(k)] = s.v
			}
		}
	}
	cur := map[string]lua.LValue{}
	rawEach(o.data(), func(k, val lua.LValue) {
		if ks, ok := k.(lua.LString); ok {
			if _, isFn := val.(*lua.LFunction); isFn {
				cur[string(ks)] = val
			}
		}
	})
	add := func(sel string, before, after lua.LValue) {
		bs, as := e.v.sourceOf(before), e.v.sourceOf(after)
		if bs == as {
			return
		}
		ch := MethodChange{Owner: o.oid, Selector: sel, Time: e.now, Author: e.v.author, Old: bs, New: as}
		if tx := e.v.tx; tx != nil {
			if p, ok := tx.provenance[provKey{o, sel}]; ok {
				ch.Author, ch.Note = p.author, p.note
			}
		}
		e.history = append(e.history, ch)
	}
	for sel, fn := range cur {
		if old[sel] != fn {
			add(sel, old[sel], fn)
		}
	}
	for sel, fn := range old {
		if _, ok := cur[sel]; !ok {
			add(sel, fn, nil)
		}
	}
	sort.Slice(e.history, func(i, j int) bool {
		a, b := e.history[i], e.history[j]
		if a.Owner != b.Owner {
			return a.Owner < b.Owner
		}
		return a.Selector < b.Selector
	})
}

// sourceOf is the source of a method value, "" for none.
func (v *VM) sourceOf(val lua.LValue) string {
	fn, ok := val.(*lua.LFunction)
	if !ok || fn == nil {
		return ""
	}
	if fn.IsG {
		if n := v.primNames[fn]; n != "" {
			return "-- primitive " + n
		}
		return ""
	}
	if info := v.srcs[fn.Proto]; info != nil {
		return info.source
	}
	return ""
}

func slotPath(path string, k lua.LValue) string {
	switch x := k.(type) {
	case lua.LString:
		if isIdent(string(x)) {
			return path + "." + string(x)
		}
		return path + "[" + strconv.Quote(string(x)) + "]"
	case lua.LNumber:
		return path + "[" + x.String() + "]"
	}
	return path + "[" + k.Type().String() + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ref returns the OID of o, giving it one (and queueing it) if it is new;
// parent and key say where it was found, for error messages.
func (e *encoder) ref(o *Object, parent *Object, key lua.LValue) OID {
	if o.oid != 0 {
		return o.oid
	}
	o.oid = e.v.newOID()
	o.pending = true
	if o.parent == nil && parent != nil && key != nil {
		o.parent, o.parentKey = parent, key
	}
	e.fresh = append(e.fresh, o)
	e.enqueue(o)
	return o.oid
}

// value encodes val found in owner under key (val is the key itself when
// !isSlot).
func (e *encoder) value(val lua.LValue, owner *Object, key lua.LValue, isSlot bool) (Value, error) {
	v := e.v
	fail := func(reason string) (Value, error) {
		path := slotPath(owner.pathName(), key)
		if !isSlot {
			path += " (a key)"
		}
		return Value{}, &CommitError{Path: path, Reason: reason}
	}
	switch x := val.(type) {
	case *lua.LNilType:
		return Value{}, nil
	case lua.LBool:
		if x {
			return Value{Kind: VTrue}, nil
		}
		return Value{Kind: VFalse}, nil
	case lua.LNumber:
		if math.IsNaN(float64(x)) && !isSlot {
			return fail("NaN cannot be a key")
		}
		return Value{Kind: VNumber, Num: float64(x)}, nil
	case lua.LString:
		return Value{Kind: VString, Str: string(x)}, nil
	case *lua.LTable:
		o := v.objectOfRaw(x)
		if o == nil {
			if x.Metatable != lua.LNil {
				return fail("a table with a metatable cannot persist (make it an object with Object:clone())")
			}
			o = &Object{vm: v, kind: KindTable, t: x}
			v.byTable[x] = o
		}
		return Value{Kind: VRef, Ref: e.ref(o, owner, key)}, nil
	case *lua.LFunction:
		if owner.kind == KindTable || !isSlot {
			return fail("a function in a plain table cannot persist; only objects and traits hold methods")
		}
		if x.IsG {
			if n := v.primNames[x]; n != "" {
				return Value{Kind: VPrimitive, Str: n}, nil
			}
			return fail("a Go builtin function cannot persist as a method")
		}
		if x.Proto.NumUpvalues > 0 {
			return fail(fmt.Sprintf("the function is a closure over local variable(s) %s; methods cannot capture locals (make them slots, or define the function at top level)", strings.Join(x.Proto.DbgUpvalues, ", ")))
		}
		info := v.srcs[x.Proto]
		if info == nil {
			return fail("the function has no known source (was it made by loadstring?)")
		}
		info.pinned = true
		return Value{Kind: VMethod, Str: info.source}, nil
	default:
		return fail(fmt.Sprintf("a %s cannot persist", val.Type()))
	}
}

// cmpValue orders keys deterministically: booleans, numbers, strings, refs.
func cmpValue(a, b Value) int {
	if a.Kind != b.Kind {
		return cmp.Compare(a.Kind, b.Kind)
	}
	switch a.Kind {
	case VNumber:
		return cmp.Compare(a.Num, b.Num)
	case VString, VMethod, VPrimitive:
		return strings.Compare(a.Str, b.Str)
	case VRef:
		return cmp.Compare(a.Ref, b.Ref)
	}
	return 0
}
