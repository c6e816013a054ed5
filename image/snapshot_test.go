package image

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/vm"
)

func TestSnapshotNames(t *testing.T) {
	im := newImage(t)
	for _, name := range []string{"", ".", "..", "a/b", "../x", "/abs", ".hidden", "-x", "a b", "a\x00b", strings.Repeat("x", 101)} {
		if err := im.Snapshot(name); err == nil || !strings.Contains(err.Error(), "bad snapshot name") {
			t.Errorf("Snapshot(%q): %v", name, err)
		}
	}
	if err := im.Snapshot("ok-1.2_3"); err != nil {
		t.Fatal(err)
	}
	if err := im.Snapshot("ok-1.2_3"); !errors.Is(err, ErrExists) {
		t.Fatalf("existing name: %v", err)
	}
	if err := im.DeleteSnapshot("nope"); err == nil {
		t.Fatal("deleting a missing snapshot succeeded")
	}
	if err := im.DeleteSnapshot(".."); err == nil {
		t.Fatal("deleting .. succeeded")
	}
}

func TestSnapshotRestore(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	if err := im.Snapshot("before"); err != nil {
		t.Fatal(err)
	}
	// Later commits are not in the snapshot.
	lobby := sampleRecords()[0]
	lobby.Name = "Later"
	if err := im.Commit(&vm.Batch{Puts: []*vm.Record{lobby, {OID: 500, Kind: vm.KindTable}},
		History: []vm.MethodChange{{Owner: 100, Selector: "area", New: "later"}}}); err != nil {
		t.Fatal(err)
	}
	if err := im.Snapshot("after"); err != nil {
		t.Fatal(err)
	}
	snaps, err := im.Snapshots()
	if err != nil || len(snaps) != 2 || snaps[0].Name != "after" || snaps[1].Name != "before" ||
		snaps[0].Size <= 0 || snaps[1].Created.IsZero() || snaps[1].Created.After(snaps[0].Created) {
		t.Fatalf("snapshots %+v %v", snaps, err)
	}

	// Restore while the image is held by another process.
	path := im.Path()
	im.Close()
	holdInChild(t, path)

	dest := filepath.Join(t.TempDir(), "restored.image")
	if err := RestoreSnapshot(path, "before", dest); err != nil {
		t.Fatal(err)
	}
	if err := RestoreSnapshot(path, "before", dest); !errors.Is(err, ErrExists) {
		t.Fatalf("restore over existing dest: %v", err)
	}
	if err := RestoreSnapshot(path, "missing", filepath.Join(t.TempDir(), "x")); err == nil {
		t.Fatal("restore of a missing snapshot succeeded")
	}
	r, err := Open(dest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, want := range sampleRecords() {
		got, err := r.Load(want.OID)
		if err != nil || !sameRecord(got, want) {
			t.Fatalf("restored object %d: %+v %v", want.OID, got, err)
		}
	}
	if _, err := r.Load(500); !errors.Is(err, vm.ErrNotFound) {
		t.Fatalf("a later commit is in the snapshot: %v", err)
	}
	if h, _ := r.History(100, "area"); len(h) != 2 {
		t.Fatalf("restored history %d entries", len(h))
	}
	if r.NextOID() != 103 {
		t.Fatalf("restored next OID %d", r.NextOID())
	}
	if _, err := os.Stat(filepath.Join(dest, "store", snapshotInfoFile)); err == nil {
		t.Error("snapshot info file copied into the restored store")
	}
	// The restored image is independent: committing to it works.
	if err := r.Commit(&vm.Batch{Puts: []*vm.Record{{OID: 600, Kind: vm.KindTable}}}); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteSnapshot(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	for _, n := range []string{"a", "b"} {
		if err := im.Snapshot(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := im.DeleteSnapshot("a"); err != nil {
		t.Fatal(err)
	}
	snaps, _ := im.Snapshots()
	if len(snaps) != 1 || snaps[0].Name != "b" {
		t.Fatalf("after delete: %+v", snaps)
	}
	ents, _ := os.ReadDir(snapshotsDir(im.Path()))
	if len(ents) != 1 {
		t.Fatalf("snapshots dir holds %d entries", len(ents))
	}
	// The image still works after snapshots come and go.
	im = reopen(t, im)
	if _, err := im.Load(100); err != nil {
		t.Fatal(err)
	}
}
