package image

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/phoenix-image/phoenix/vm"
)

func TestCreateOpen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "my.image")
	if _, err := Open(p, Options{}); err == nil || !errors.Is(err, ErrNotImage) ||
		err.Error() != "image: "+p+": not a Phoenix image (no store)" {
		t.Fatalf("open of nothing: %v", err)
	}
	im, err := Create(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if im.Path() != p || im.NextOID() != vm.FirstFreeOID || im.Created().IsZero() {
		t.Fatalf("new image: path %q next %d created %v", im.Path(), im.NextOID(), im.Created())
	}
	im.Close()
	if _, err := Create(p, Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("create over an image: %v", err)
	}
	im, err = Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Close(); err != nil {
		t.Fatal(err)
	}
	if err := im.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestFormatVersionMismatch(t *testing.T) {
	im := newImage(t)
	if err := im.db.Set(keyFormat, []byte{2}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	im.Close()
	_, err := Open(im.Path(), Options{})
	var ve *VersionError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "format version 2") || !strings.Contains(err.Error(), "version 1") {
		t.Fatalf("got %v", err)
	}
	// And the failed Open released the lock.
	if _, err := Open(im.Path(), Options{}); errors.As(err, new(*LockedError)) {
		t.Fatalf("lock not released: %v", err)
	}
}

func commitSample(t *testing.T, im *Image) {
	t.Helper()
	b := &vm.Batch{Puts: sampleRecords(), NextOID: 103, History: []vm.MethodChange{
		{Owner: 100, Selector: "area", Time: t0, Author: vm.AuthorHuman, New: "v1"},
		{Owner: 100, Selector: "area\x00x", Time: t0, Author: vm.AuthorHuman, New: "other"},
		{Owner: 100, Selector: "area", Time: t0.Add(1), Author: vm.AuthorAgent, Old: "v1", New: "v2", Note: "agent"},
	}}
	if err := im.Commit(b); err != nil {
		t.Fatal(err)
	}
}

func TestCommitReopen(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	if err := im.Commit(&vm.Batch{History: []vm.MethodChange{
		{Owner: 100, Selector: "area", Time: t0.Add(2), Author: vm.AuthorFilein, Old: "v2", New: "v3"},
	}}); err != nil {
		t.Fatal(err)
	}
	im = reopen(t, im)
	for _, want := range sampleRecords() {
		got, err := im.Load(want.OID)
		if err != nil {
			t.Fatal(err)
		}
		if !sameRecord(got, want) {
			t.Fatalf("object %d: got %+v want %+v", want.OID, got, want)
		}
	}
	if n := im.NextOID(); n != 103 {
		t.Fatalf("next OID %d", n)
	}
	h, err := im.History(100, "area")
	if err != nil {
		t.Fatal(err)
	}
	var news []string
	for _, c := range h {
		news = append(news, c.New)
	}
	if !slices.Equal(news, []string{"v1", "v2", "v3"}) || h[1].Note != "agent" || !h[0].Time.Equal(t0) || h[0].Owner != 100 {
		t.Fatalf("history %+v", h)
	}
	if h, _ := im.History(100, "area\x00x"); len(h) != 1 || h[0].New != "other" {
		t.Fatalf("history of selector with NUL: %+v", h)
	}
	if h, _ := im.History(100, "nope"); len(h) != 0 {
		t.Fatalf("history of unknown method: %+v", h)
	}
	if _, err := im.Load(555); !errors.Is(err, vm.ErrNotFound) {
		t.Fatalf("missing object: %v", err)
	}
	users, err := im.TraitUsers(101)
	if err != nil || !slices.Equal(users, []vm.OID{100}) {
		t.Fatalf("trait users %v %v", users, err)
	}
}

func TestNextOIDCoversPuts(t *testing.T) {
	im := newImage(t)
	if err := im.Commit(&vm.Batch{Puts: []*vm.Record{{OID: 5000, Kind: vm.KindTable}}, NextOID: 200}); err != nil {
		t.Fatal(err)
	}
	if im.NextOID() != 5001 {
		t.Fatalf("next %d", im.NextOID())
	}
	if err := im.Commit(&vm.Batch{NextOID: 150}); err != nil {
		t.Fatal(err)
	}
	if im = reopen(t, im); im.NextOID() != 5001 {
		t.Fatalf("next went down to %d", im.NextOID())
	}
}

func TestTraitUsersIndex(t *testing.T) {
	im := newImage(t)
	obj := func(oid vm.OID, traits ...vm.OID) *vm.Record {
		r := &vm.Record{OID: oid, Kind: vm.KindObject}
		for _, tr := range traits {
			r.Traits = append(r.Traits, vm.TraitUse{Trait: tr})
		}
		return r
	}
	check := func(trait vm.OID, want ...vm.OID) {
		t.Helper()
		got, err := im.TraitUsers(trait)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("users of %d: got %v (%v), want %v", trait, got, err, want)
		}
	}
	must := func(b *vm.Batch) {
		t.Helper()
		if err := im.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	must(&vm.Batch{Puts: []*vm.Record{obj(10), obj(11), obj(200, 10), obj(201, 10, 11)}})
	check(10, 200, 201)
	check(11, 201)
	must(&vm.Batch{Puts: []*vm.Record{obj(201, 11)}}) // drops 10
	check(10, 200)
	check(11, 201)
	// Two puts of one object in one batch: the last wins.
	must(&vm.Batch{Puts: []*vm.Record{obj(200, 11), obj(200)}})
	check(10)
	check(11, 201)
	must(&vm.Batch{Puts: []*vm.Record{obj(202, 10), obj(202, 11)}})
	check(10)
	check(11, 201, 202)
	im = reopen(t, im)
	check(11, 201, 202)
	if rep, err := im.Verify(nil); err != nil || rep.ProblemCount != 1 { // only: no Lobby
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

func TestFailedCommitLeavesNothing(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	next := im.NextOID()
	changed := sampleRecords()
	changed[0].Name = "Changed"
	changed[2].Traits = nil
	b := &vm.Batch{
		Puts:    append(changed, &vm.Record{OID: 900, Kind: vm.KindObject}),
		History: []vm.MethodChange{{Owner: 100, Selector: "area", New: "lost"}},
		NextOID: 1000,
	}
	im.commitHook = func(pb *pebble.Batch) error {
		if pb.Count() == 0 {
			t.Error("hook saw an empty batch")
		}
		return errors.New("injected failure")
	}
	if err := im.Commit(b); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("commit: %v", err)
	}
	im.commitHook = nil
	// An invalid record anywhere in the batch refuses all of it.
	bad := &vm.Batch{Puts: []*vm.Record{{OID: 901, Kind: vm.KindObject}, {OID: 902, Kind: 77}}}
	if err := im.Commit(bad); err == nil || !strings.Contains(err.Error(), "object 902: invalid kind 77") {
		t.Fatalf("invalid batch: %v", err)
	}
	if im.NextOID() != next {
		t.Fatalf("next OID moved to %d", im.NextOID())
	}
	im = reopen(t, im)
	for _, oid := range []vm.OID{900, 901, 902} {
		if _, err := im.Load(oid); !errors.Is(err, vm.ErrNotFound) {
			t.Fatalf("object %d of a failed commit: %v", oid, err)
		}
	}
	if r, _ := im.Load(1); r.Name != "Lobby" {
		t.Fatalf("lobby changed to %q", r.Name)
	}
	if h, _ := im.History(100, "area"); len(h) != 2 {
		t.Fatalf("history has %d entries", len(h))
	}
	if u, _ := im.TraitUsers(101); len(u) != 1 {
		t.Fatalf("index changed: %v", u)
	}
	if im.NextOID() != next {
		t.Fatalf("next OID after reopen %d", im.NextOID())
	}
	// A closed image refuses commits.
	im.Close()
	if err := im.Commit(&vm.Batch{Puts: []*vm.Record{{OID: 903, Kind: vm.KindObject}}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("commit to closed image: %v", err)
	}
	if _, err := im.Load(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("load from closed image: %v", err)
	}
}

func TestLoadCorruptRecord(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	enc := EncodeRecord(sampleRecords()[2])
	if err := im.db.Set(recordKey(100), enc[:len(enc)-4], pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_, err := im.Load(100)
	if !errors.Is(err, ErrCorruptRecord) || !strings.HasPrefix(err.Error(), "image: object 100: slot 12") {
		t.Fatalf("got %v", err)
	}
}

func TestReadOnly(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	im.Close()
	ro, err := Open(im.Path(), Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if r, err := ro.Load(100); err != nil || r.Name != "Point" {
		t.Fatalf("load: %v %v", r, err)
	}
	for name, err := range map[string]error{
		"commit":   ro.Commit(&vm.Batch{}),
		"snapshot": ro.Snapshot("s"),
		"gc":       func() error { _, err := ro.GC(nil); return err }(),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Open(im.Path(), Options{ReadOnly: true}); !errors.As(err, new(*LockedError)) {
		t.Fatalf("read-only open is not exclusive: %v", err)
	}
}

func TestInfo(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	if err := im.Snapshot("s1"); err != nil {
		t.Fatal(err)
	}
	in, err := im.Info()
	if err != nil {
		t.Fatal(err)
	}
	if in.Path != im.Path() || in.FormatVersion != FormatVersion || in.NextOID != 103 || in.Records != 5 ||
		in.ByKind[vm.KindObject] != 3 || in.ByKind[vm.KindTrait] != 1 || in.ByKind[vm.KindTable] != 1 ||
		in.HistoryEntries != 3 || in.DiskSize <= 0 || in.Snapshots != 1 || in.Created.IsZero() {
		t.Fatalf("info %+v", in)
	}
	// CountRecords (the GUI's status bar) counts what Info does, reading
	// only the record keys: history, audit and the rest are not records.
	if _, err := im.AppendAudit("test", "human", "x", nil); err != nil {
		t.Fatal(err)
	}
	if n, err := im.CountRecords(); err != nil || n != in.Records {
		t.Fatalf("CountRecords = %d, %v; Info says %d", n, err, in.Records)
	}
}
