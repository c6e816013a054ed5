package qemu

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/phoenix-image/phoenix/kernelhost"
)

// The disk: a raw ext4 file system image made with mkfs.ext4 -d from a
// staging directory that holds the image's store (hard links into the
// locked host image where possible, else copies), the boot config and any
// extra files. After the machine stops, CopyBack replays the ext4 journal
// (e2fsck) and copies the store out with debugfs rdump, so what the guest
// committed (Pebble's synced WAL and tables) comes back even when QEMU
// was killed.

// DiskOptions configure BuildDisk.
type DiskOptions struct {
	// Store is the host image's store directory (PATH/store).
	Store string
	// Config is written to kernelhost.ConfigFile.
	Config *kernelhost.BootConfig
	// Files are extra files put at the disk's root: name -> contents
	// (written mode 0600).
	Files map[string][]byte
	// MinSizeMB is the least size of the file system (default 256).
	MinSizeMB int64
}

// BuildDisk makes the raw ext4 disk file at path.
func BuildDisk(ctx context.Context, path string, opts DiskOptions) error {
	staging, err := os.MkdirTemp(filepath.Dir(path), ".staging-")
	if err != nil {
		return fmt.Errorf("qemu: disk: %w", err)
	}
	defer os.RemoveAll(staging)
	imgDir := filepath.Join(staging, "image")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		return err
	}
	size, err := linkTree(opts.Store, filepath.Join(imgDir, "store"))
	if err != nil {
		return fmt.Errorf("qemu: disk: copying the image's store %s: %w", opts.Store, err)
	}
	if err := kernelhost.WriteConfig(filepath.Join(staging, filepath.Base(kernelhost.ConfigFile)), opts.Config); err != nil {
		return fmt.Errorf("qemu: disk: %w", err)
	}
	for name, data := range opts.Files {
		if strings.ContainsAny(name, "/\\") || name == "image" || name == filepath.Base(kernelhost.ConfigFile) {
			return fmt.Errorf("qemu: disk: bad extra file name %q", name)
		}
		if err := os.WriteFile(filepath.Join(staging, name), data, 0o600); err != nil {
			return fmt.Errorf("qemu: disk: %w", err)
		}
	}
	min := opts.MinSizeMB
	if min == 0 {
		min = 256
	}
	// Room for Pebble to write and compact: four times the store, plus slack.
	mb := 4*size/(1<<20) + 128
	if mb < min {
		mb = min
	}
	os.Remove(path)
	// The inode tables and the journal are zeroed here, not by the guest's
	// kernel after mounting (which costs the guest ~50 ms under TCG).
	out, err := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-L", "phoenix", "-E", "root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0",
		"-d", staging, path, fmt.Sprintf("%dM", mb)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu: mkfs.ext4 -d %s %s: %v: %s (install e2fsprogs)", staging, path, err, bytes.TrimSpace(out))
	}
	return nil
}

// linkTree hard-links (or, across file systems, copies) the tree at src
// to dst and returns the bytes it holds.
func linkTree(src, dst string) (int64, error) {
	var total int64
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		total += fi.Size()
		if err := os.Link(p, target); err == nil {
			return nil
		}
		return copyFile(p, target)
	})
	return total, err
}

// CopyBack recovers the disk's file system (replaying its journal, as
// after a crash) and copies the guest's image store to dst, which must
// not exist yet.
func CopyBack(ctx context.Context, disk, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("qemu: copy back: %s already exists", dst)
	}
	// e2fsck exits 1 or 2 when it fixed something (a journal replay after
	// QEMU was killed); 4 and above mean errors left uncorrected.
	out, err := exec.CommandContext(ctx, "e2fsck", "-f", "-y", disk).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() >= 4 {
		return fmt.Errorf("qemu: e2fsck %s: %v: %s", disk, err, bytes.TrimSpace(out))
	} else if err != nil && !ok {
		return fmt.Errorf("qemu: e2fsck %s: %w (install e2fsprogs)", disk, err)
	}
	parent := filepath.Dir(dst)
	tmp, err := os.MkdirTemp(parent, ".rdump-")
	if err != nil {
		return fmt.Errorf("qemu: copy back: %w", err)
	}
	defer os.RemoveAll(tmp)
	out, err = exec.CommandContext(ctx, "debugfs", "-R", "rdump /image/store "+tmp, disk).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu: debugfs rdump from %s: %v: %s", disk, err, bytes.TrimSpace(out))
	}
	got := filepath.Join(tmp, "store")
	if _, err := os.Stat(got); err != nil {
		return fmt.Errorf("qemu: debugfs rdump from %s gave no store: %s", disk, bytes.TrimSpace(out))
	}
	if strings.Contains(string(out), "rdump:") || strings.Contains(string(out), "rdump_") {
		return fmt.Errorf("qemu: debugfs rdump from %s: %s", disk, bytes.TrimSpace(out))
	}
	return os.Rename(got, dst)
}
