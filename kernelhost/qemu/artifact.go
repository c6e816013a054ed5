package qemu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/phoenix-image/phoenix/kernelhost/initramfs"
)

// Artifact is what QEMU boots: the kernel and the initramfs.
type Artifact struct {
	Dir    string // the cache directory, named by Hash
	Kernel string // vmlinuz
	Initrd string // initramfs.cpio
	Hash   string // sha256 of the kernel, the phoenix binary and the layout version
	Cached bool   // found in the cache, not built
}

// ArtifactOptions configure BuildArtifact.
type ArtifactOptions struct {
	// Phoenix is the static (CGO_ENABLED=0) phoenix binary that becomes
	// /init.
	Phoenix string
	// CacheDir holds built artifacts (default CacheDir()).
	CacheDir string
	Log      *slog.Logger
	// Progress, if set, is called while the initramfs is written.
	Progress func(done, total int64)
}

// layoutVersion changes when the artifact's layout does, so old cache
// entries are not reused.
const layoutVersion = "phoenix-boot-1"

// CacheDir is ${XDG_CACHE_HOME:-$HOME/.cache}/phoenix/boot.
func CacheDir() string {
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		dir = filepath.Join(home, ".cache")
	}
	return filepath.Join(dir, "phoenix", "boot")
}

// BuildArtifact returns the boot artifact for the pinned kernel and the
// phoenix binary, from the cache when its content hash is there, else
// built into it (written to a temporary directory and renamed, so a
// half-built artifact is never found).
func BuildArtifact(ctx context.Context, opts ArtifactOptions) (*Artifact, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.CacheDir == "" {
		opts.CacheDir = CacheDir()
	}
	start := time.Now()
	kernel, err := Kernel(ctx)
	if err != nil {
		return nil, err
	}
	if err := isStaticELF(opts.Phoenix); err != nil {
		return nil, err
	}
	h := sha256.New()
	io.WriteString(h, layoutVersion+"\n")
	for _, f := range []string{kernel, opts.Phoenix} {
		if err := hashFile(h, f); err != nil {
			return nil, err
		}
	}
	hash := hex.EncodeToString(h.Sum(nil))[:32]
	dir := filepath.Join(opts.CacheDir, hash)
	a := &Artifact{Dir: dir, Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initramfs.cpio"), Hash: hash}
	if _, err := os.Stat(a.Initrd); err == nil {
		a.Cached = true
		log.Info("boot artifact cached", "dir", dir, "took", time.Since(start).Round(time.Millisecond))
		return a, nil
	}
	log.Info("building the boot artifact", "kernel", kernel, "phoenix", opts.Phoenix, "dir", dir)
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("qemu: artifact cache: %w", err)
	}
	tmp, err := os.MkdirTemp(opts.CacheDir, ".tmp-"+hash+"-")
	if err != nil {
		return nil, fmt.Errorf("qemu: artifact cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := copyFile(kernel, filepath.Join(tmp, "vmlinuz")); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(tmp, "initramfs.cpio"))
	if err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	if err := initramfs.Write(f, initramfs.Phoenix(opts.Phoenix), opts.Progress); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(a.Initrd); serr == nil {
			return a, nil // another process built it meanwhile
		}
		return nil, fmt.Errorf("qemu: artifact cache: %w", err)
	}
	log.Info("boot artifact built", "dir", dir, "took", time.Since(start).Round(time.Millisecond))
	return a, nil
}

func hashFile(h io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	defer f.Close()
	_, err = io.Copy(h, f)
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm()|0o200)
	if err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("qemu: copying %s: %w", src, err)
	}
	return out.Close()
}
