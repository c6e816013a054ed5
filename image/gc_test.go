package image

import (
	"errors"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/phoenix-image/phoenix/vm"
)

func TestGC(t *testing.T) {
	im := newImage(t)
	commitSample(t, im) // 1, 2, 100, 101, 102, all reachable
	obj := func(oid vm.OID, slots ...vm.Slot) *vm.Record {
		return &vm.Record{OID: oid, Kind: vm.KindObject, Slots: slots}
	}
	lobby := sampleRecords()[0]
	lobby.Slots = append(lobby.Slots, slot("keep", ref(200)))
	puts := []*vm.Record{
		lobby,
		// Reachable cycle 200 <-> 201, with 201's proto 202 and a ref in a key.
		obj(200, slot("next", ref(201))),
		{OID: 201, Kind: vm.KindObject, Proto: 202, Slots: []vm.Slot{slot("back", ref(200)), {Key: ref(203), Val: num(1)}}},
		obj(202), obj(203),
		// Kernel-range object not referenced from the Lobby: a root.
		obj(vm.MNUOID),
		// Unreachable cycle 300 <-> 301, 301 uses unreachable trait 302.
		obj(300, slot("next", ref(301))),
		{OID: 301, Kind: vm.KindObject, Traits: []vm.TraitUse{{Trait: 302}}, Slots: []vm.Slot{slot("back", ref(300))}},
		{OID: 302, Kind: vm.KindTrait},
		// Unreachable, referring to live objects and to nothing.
		obj(303, slot("lobby", ref(1)), slot("gone", ref(9999))),
		// Unreachable user of a live trait.
		{OID: 304, Kind: vm.KindObject, Traits: []vm.TraitUse{{Trait: 101}}},
	}
	hist := []vm.MethodChange{{Owner: 300, Selector: "m", New: "x"}, {Owner: 300, Selector: "n", New: "y"}, {Owner: 200, Selector: "m", New: "z"}}
	if err := im.Commit(&vm.Batch{Puts: puts, History: hist}); err != nil {
		t.Fatal(err)
	}
	rep, err := im.GC(nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scanned != 15 || rep.Live != 10 || rep.Removed != 5 || rep.HistoryRemoved != 2 || rep.IndexRemoved != 2 || rep.BytesFreed <= 0 {
		t.Fatalf("report %+v", rep)
	}
	im = reopen(t, im)
	for _, oid := range []vm.OID{1, 2, 100, 101, 102, 200, 201, 202, 203, vm.MNUOID} {
		if _, err := im.Load(oid); err != nil {
			t.Errorf("live object %d: %v", oid, err)
		}
	}
	for _, oid := range []vm.OID{300, 301, 302, 303, 304} {
		if _, err := im.Load(oid); !errors.Is(err, vm.ErrNotFound) {
			t.Errorf("garbage object %d: %v", oid, err)
		}
	}
	if h, _ := im.History(300, "m"); len(h) != 0 {
		t.Error("history of a removed object survived")
	}
	if h, _ := im.History(200, "m"); len(h) != 1 {
		t.Error("history of a live object removed")
	}
	if u, _ := im.TraitUsers(101); !slices.Equal(u, []vm.OID{100}) {
		t.Errorf("users of 101: %v", u)
	}
	if u, _ := im.TraitUsers(302); len(u) != 0 {
		t.Errorf("users of 302: %v", u)
	}
	vr, err := im.Verify(nil)
	if err != nil || !vr.OK() {
		t.Fatalf("verify after gc: %v\n%s", err, problems(vr))
	}
	// A second GC finds nothing.
	if rep, err := im.GC(nil); err != nil || rep.Removed != 0 || rep.Live != 10 {
		t.Fatalf("second gc: %+v %v", rep, err)
	}
}

func TestGCRefusesCorruptReachable(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	if err := im.Commit(&vm.Batch{Puts: []*vm.Record{{OID: 400, Kind: vm.KindTable}}}); err != nil {
		t.Fatal(err)
	}
	if err := im.db.Set(recordKey(100), []byte{1, 1}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := im.GC(nil); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("gc over a corrupt reachable record: %v", err)
	}
	if _, err := im.Load(400); err != nil {
		t.Fatalf("gc deleted something although it failed: %v", err)
	}
}
