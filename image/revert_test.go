package image_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

func TestRevertToSnapshotInPlace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.image")
	s, err := bootstrap.NewImage(ctx, path, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eval := func(s *bootstrap.Session, src string) string {
		t.Helper()
		res, err := s.VM.Eval(ctx, src, vm.EvalOptions{Print: true})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(res.Strings, " ")
	}
	eval(s, "Lobby.era = 1")
	if err := s.Image.Snapshot("one"); err != nil {
		t.Fatal(err)
	}
	eval(s, "Lobby.era = 2")
	if err := image.RevertToSnapshot(path, "one"); err == nil {
		t.Fatal("reverted an image that is open")
	}
	if err := image.RevertToSnapshot(path, "nope"); err == nil || !strings.Contains(err.Error(), `no snapshot "nope"`) {
		t.Fatalf("unknown snapshot: %v", err)
	}
	s.Close()
	if err := image.RevertToSnapshot(path, "nope"); err == nil {
		t.Fatal("reverted to a snapshot that does not exist")
	}
	if err := image.RevertToSnapshot(path, "one"); err != nil {
		t.Fatal(err)
	}
	s, err = bootstrap.Open(ctx, path, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := eval(s, "return era"); got != "1" {
		t.Fatalf("era = %s after the revert, want 1", got)
	}
	snaps, err := s.Image.Snapshots()
	if err != nil || len(snaps) != 1 || snaps[0].Name != "one" {
		t.Fatalf("snapshots after the revert: %v, %v", snaps, err)
	}
	ents, _ := os.ReadDir(path)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "store.") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	eval(s, "Lobby.era = 3") // the reverted image commits
}
