package bootstrap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

// The Image menu's actions on the served image. They run on the VM's
// goroutine, so no transaction commits while they read the store; what
// they write (a snapshot, an export file) is on the server's machine.

// Snapshot implements remote.Backend.
func (b *RemoteBackend) Snapshot(ctx context.Context, name string) (*remote.Snapshot, error) {
	if name == "" {
		name = time.Now().UTC().Format("2006-01-02T15-04-05")
	}
	var out *remote.Snapshot
	err := b.run(ctx, func(*vm.VM) error {
		if err := b.s.Image.Snapshot(name); err != nil {
			return fmt.Errorf("snapshot %s: %w", name, err)
		}
		snaps, err := b.s.Image.Snapshots()
		if err != nil {
			return err
		}
		for _, s := range snaps {
			if s.Name == name {
				out = &remote.Snapshot{Name: s.Name, Created: s.Created, Size: s.Size}
			}
		}
		if out == nil {
			return fmt.Errorf("snapshot %s was taken but is not listed", name)
		}
		return nil
	})
	return out, err
}

// Snapshots implements remote.Backend.
func (b *RemoteBackend) Snapshots(ctx context.Context) (*remote.SnapshotsResult, error) {
	out := &remote.SnapshotsResult{Snapshots: []remote.Snapshot{}}
	err := b.run(ctx, func(*vm.VM) error {
		snaps, err := b.s.Image.Snapshots()
		if err != nil {
			return err
		}
		for _, s := range snaps {
			out.Snapshots = append(out.Snapshots, remote.Snapshot{Name: s.Name, Created: s.Created, Size: s.Size})
		}
		return nil
	})
	return out, err
}

// Export implements remote.Backend: NAME.phx next to the image (a.image →
// a.phx), written to a temporary file and renamed into place, as the
// local Image menu's Export.
func (b *RemoteBackend) Export(ctx context.Context) (*remote.ExportResult, error) {
	p := filepath.Clean(b.s.Path)
	dest := strings.TrimSuffix(p, filepath.Ext(p)) + ".phx"
	var out *remote.ExportResult
	err := b.run(ctx, func(*vm.VM) error {
		tmp := dest + ".tmp"
		f, err := os.Create(tmp)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		sum, err := b.s.Image.Export(f, nil)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, dest)
		}
		if err != nil {
			os.Remove(tmp)
			return fmt.Errorf("export to %s: %w", dest, err)
		}
		out = &remote.ExportResult{Path: dest, Records: sum.Records, Bytes: sum.Bytes}
		return nil
	})
	return out, err
}

// Restore implements remote.Backend: snapshot name as a new image at
// NAME-SNAPSHOT.image next to the served one (a.image → a-NAME.image),
// which stays open and unchanged, as the local Image menu's "Restore as
// new image".
func (b *RemoteBackend) Restore(ctx context.Context, name string) (*remote.RestoreResult, error) {
	p := filepath.Clean(b.s.Path)
	dest := strings.TrimSuffix(p, filepath.Ext(p)) + "-" + name + ".image"
	err := b.run(ctx, func(*vm.VM) error {
		if err := image.RestoreSnapshot(b.s.Path, name, dest); err != nil {
			return fmt.Errorf("restore of snapshot %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &remote.RestoreResult{Path: dest}, nil
}
