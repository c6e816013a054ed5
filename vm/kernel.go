package vm

import (
	"context"
	"fmt"
)

// createKernel makes the objects the VM itself relies on, with fixed OIDs,
// and commits them.
func (v *VM) createKernel() error {
	return v.Do(context.Background(), TxOptions{Author: AuthorSystem}, func() error {
		mk := func(oid OID, kind Kind, proto *Object, name string) *Object {
			o := v.newObject(kind, proto)
			o.oid, o.name, o.metaDirty = oid, name, true
			v.objs[oid] = o
			v.touch(o)
			return o
		}
		v.object = mk(ObjectOID, KindObject, nil, "Object")
		v.lobby = mk(LobbyOID, KindObject, v.object, "")
		v.trait = mk(TraitOID, KindObject, v.object, "Trait")
		v.message = mk(MessageOID, KindObject, v.object, "Message")
		v.errorProto = mk(ErrorOID, KindObject, v.object, "Error")
		v.mnu = mk(MNUOID, KindObject, v.errorProto, "MessageNotUnderstood")
		set := func(o *Object, sel, prim string) {
			fn := v.prims[prim]
			if fn == nil {
				panic("no primitive " + prim)
			}
			o.t.RawSetString(sel, fn)
		}
		for _, s := range []string{"clone", "printString", "doesNotUnderstand", "respondsTo", "uses"} {
			set(v.object, s, "Object>>"+s)
		}
		set(v.trait, "exclude", "Trait>>exclude")
		set(v.trait, "alias", "Trait>>alias")
		set(v.errorProto, "new", "Error>>new")
		set(v.errorProto, "signal", "Error>>signal")
		set(v.errorProto, "printString", "Error>>printString")
		set(v.message, "printString", "Message>>printString")
		transcript := v.newObject(KindObject, v.object)
		transcript.name = "Transcript"
		set(transcript, "show", "Transcript>>show")
		set(transcript, "cr", "Transcript>>cr")
		v.builtins.RawSetString("Lobby", v.lobby.t)
		for _, o := range []*Object{v.object, v.trait, v.message, v.errorProto, v.mnu, transcript} {
			v.lobby.t.RawSetString(o.name, o.t)
		}
		return nil
	})
}

// bootKernel finds the kernel objects of an opened image. Only the Lobby
// is loaded; the rest are faults until touched.
func (v *VM) bootKernel() error {
	get := func(oid OID) *Object {
		v.tableFor(oid)
		return v.objs[oid]
	}
	v.lobby = get(LobbyOID)
	if err := v.lobby.ensure(); err != nil {
		return fmt.Errorf("image: cannot load the Lobby: %w", err)
	}
	v.builtins.RawSetString("Lobby", v.lobby.t)
	v.object = get(ObjectOID)
	v.trait = get(TraitOID)
	v.message = get(MessageOID)
	v.errorProto = get(ErrorOID)
	v.mnu = get(MNUOID)
	return nil
}
