package image

import (
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/phoenix-image/phoenix/vm"
)

func problems(rep *VerifyReport) string {
	var s []string
	for _, p := range rep.Problems {
		s = append(s, p.String())
	}
	return strings.Join(s, "\n")
}

func TestVerifyClean(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	var last, lastTotal int64
	rep, err := im.Verify(func(d, tot int64) { last, lastTotal = d, tot })
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("problems in a clean image:\n%s", problems(rep))
	}
	if rep.Records != 5 || rep.ByKind[vm.KindObject] != 3 || rep.ByKind[vm.KindTrait] != 1 || rep.ByKind[vm.KindTable] != 1 ||
		rep.HistoryEntries != 3 || rep.IndexEntries != 1 || rep.NextOID != 103 || last != lastTotal || last == 0 {
		t.Fatalf("report %+v, progress %d/%d", rep, last, lastTotal)
	}
}

func TestVerifyFindsProblems(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	// A dangling reference in slot 1 of a new object, a dangling proto.
	if err := im.Commit(&vm.Batch{Puts: []*vm.Record{{OID: 300, Kind: vm.KindObject, Proto: 777,
		Slots: []vm.Slot{slot("ok", ref(1)), slot("bad", ref(999))}}}}); err != nil {
		t.Fatal(err)
	}
	// Inject directly with Pebble: a corrupt record, a record with an
	// invalid kind, a record beyond next OID, a stale index entry.
	enc := EncodeRecord(&vm.Record{Kind: vm.KindObject, Slots: []vm.Slot{slot("a", num(1)), slot("s", str("hello"))}})
	bad := EncodeRecord(&vm.Record{Kind: vm.KindObject})
	bad[1] = 9
	b := im.db.NewBatch()
	b.Set(recordKey(301), enc[:len(enc)-2], nil)
	b.Set(recordKey(302), bad, nil)
	b.Set(recordKey(100000), EncodeRecord(&vm.Record{Kind: vm.KindTable}), nil)
	b.Set(usersKey(101, 1), nil, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	rep, err := im.Verify(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := problems(rep)
	for _, want := range []string{
		"object 300: slot 1 value: refers to missing object 999",
		"object 300: proto: refers to missing object 777",
		"object 301: slot 1: corrupt: truncated string in value",
		"object 302: header: corrupt: invalid kind 9",
		"object 100000: OID is not below the next OID 301",
		"object 1: trait users index: listed as a user of trait 101, but its record does not use it",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing problem %q in:\n%s", want, got)
		}
	}
	if rep.ProblemCount != 6 || rep.OK() {
		t.Errorf("%d problems:\n%s", rep.ProblemCount, got)
	}
}

func TestVerifyMissingLobby(t *testing.T) {
	im := newImage(t)
	rep, err := im.Verify(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(problems(rep), "object 1: the Lobby is missing") {
		t.Fatalf("got %s", problems(rep))
	}
}
