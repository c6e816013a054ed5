package bootstrap

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/vm"
)

// TestRemoteBackendOnAReopenedImage checks paths through objects that are
// still faults: after reopening, only the Lobby is loaded.
func TestRemoteBackendOnAReopenedImage(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.image")
	s, err := Open(ctx, path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.VM.Eval(ctx, `Bank = Object:clone(); Bank.vault = Object:clone(); Bank.vault.gold = 3
		function Bank:total() return self.vault.gold end`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := NewRemoteBackend(s, RemoteOptions{})
	defer b.Close()
	kids, err := b.Browse(ctx, "Bank")
	if err != nil || len(kids.Objects) != 1 || kids.Objects[0].Name != "Bank.vault" {
		t.Fatalf("children of a fault: %+v %v", kids, err)
	}
	m, err := b.Mirror(ctx, "Bank.vault")
	if err != nil || len(m.Slots) != 1 || m.Slots[0].Value != "3" {
		t.Fatalf("mirror through a fault: %+v %v", m, err)
	}
	src, err := b.Source(ctx, "Bank", "total")
	if err != nil || !strings.Contains(src.Source, "self.vault.gold") {
		t.Fatalf("source: %+v %v", src, err)
	}
	globals, err := b.Browse(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range globals.Objects {
		found = found || o.Name == "Bank"
	}
	if !found {
		t.Fatalf("Bank not among %+v", globals.Objects)
	}
}
