package remote_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

// The Image menu's actions over the protocol: snapshots (named and by the
// time), their list, a bad name refused naming it, and an export next to
// the image that imports into a new image with the same state.
func TestSnapshotSnapshotsExport(t *testing.T) {
	f := serve(t, options{})
	c := f.dial(t, nil)
	ctx := context.Background()
	s, err := c.Snapshot(ctx, "before")
	if err != nil || s.Name != "before" || s.Created.IsZero() {
		t.Fatalf("snapshot: %+v %v", s, err)
	}
	if s, err := c.Snapshot(ctx, ""); err != nil || !strings.HasPrefix(s.Name, "20") {
		t.Fatalf("snapshot by time: %+v %v", s, err)
	}
	if _, err := c.Snapshot(ctx, "../escape"); code(err) != remote.CodeFailed || !strings.Contains(err.Error(), "../escape") {
		t.Fatalf("bad name: %v", err)
	}
	list, err := c.Snapshots(ctx)
	if err != nil || len(list.Snapshots) != 2 || (list.Snapshots[0].Name != "before" && list.Snapshots[1].Name != "before") {
		t.Fatalf("snapshots: %+v %v", list, err)
	}

	// Restore "before" as a new image next to the served one.
	r, err := c.Restore(ctx, "before")
	if want := strings.TrimSuffix(f.s.Path, filepath.Ext(f.s.Path)) + "-before.image"; err != nil || r.Path != want {
		t.Fatalf("restore: %+v %v (want %s)", r, err, want)
	}
	rs, err := bootstrap.Open(ctx, r.Path, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rs.VM.Eval(ctx, "return Account.balance", vm.EvalOptions{Print: true})
	rs.Close()
	if err != nil || res.Strings[0] != "10" {
		t.Fatalf("the restored image's Account.balance = %v, %v", res, err)
	}
	if _, err := c.Restore(ctx, "before"); err == nil || !strings.Contains(err.Error(), "before") {
		t.Fatalf("restoring over an existing image: %v", err)
	}
	if _, err := c.Restore(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("restoring an unknown snapshot: %v", err)
	}
	if _, err := c.Eval(ctx, "Account.balance = 77"); err != nil {
		t.Fatal(err)
	}
	ex, err := c.Export(ctx)
	want := strings.TrimSuffix(f.s.Path, filepath.Ext(f.s.Path)) + ".phx"
	if err != nil || ex.Path != want || ex.Records == 0 {
		t.Fatalf("export: %+v %v (want %s)", ex, err, want)
	}
	in, err := os.Open(ex.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dest := filepath.Join(t.TempDir(), "imported.image")
	if _, err := image.Import(in, dest, nil); err != nil {
		t.Fatalf("the export does not import: %v", err)
	}
	s2, err := bootstrap.Open(ctx, dest, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if res, err := s2.VM.Eval(ctx, "return Account.balance", vm.EvalOptions{Print: true}); err != nil || res.Strings[0] != "77" {
		t.Fatalf("the imported image's Account.balance = %v, %v", res, err)
	}
}
