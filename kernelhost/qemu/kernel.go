package qemu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
)

// The kernel: gokrazy's minimal Linux for amd64 (virtio blk and net, ext4
// and 9p built in), a Go module that ships vmlinuz at its root. Version
// and Sum are those of go.mod and go.sum (a test checks they agree).
const (
	KernelModule  = "github.com/gokrazy/kernel.amd64"
	KernelVersion = "v0.0.0-20260705070735-de680abf072b"
	KernelSum     = "h1:H9m4mwDqTyQG0AKVviBQp09T3OrY1X3tHNyrJCbqJfY="
)

// Kernel returns the path of the pinned kernel's vmlinuz in the Go module
// cache, downloading the module with the go command if it is not there,
// after checking the module's zip against KernelSum.
func Kernel(ctx context.Context) (string, error) {
	dir, zip, err := kernelCachePaths()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(zip); err != nil {
		if dir, zip, err = goModDownload(ctx); err != nil {
			return "", err
		}
	}
	sum, err := dirhash.HashZip(zip, dirhash.Hash1)
	if err != nil {
		return "", fmt.Errorf("qemu: kernel module %s@%s: %w", KernelModule, KernelVersion, err)
	}
	if sum != KernelSum {
		return "", fmt.Errorf("qemu: kernel module %s@%s: zip %s has hash %s, go.sum says %s: refusing it", KernelModule, KernelVersion, zip, sum, KernelSum)
	}
	vmlinuz := filepath.Join(dir, "vmlinuz")
	if _, err := os.Stat(vmlinuz); err != nil {
		if dir, _, err = goModDownload(ctx); err != nil {
			return "", err
		}
		vmlinuz = filepath.Join(dir, "vmlinuz")
	}
	return vmlinuz, nil
}

func modCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if d := string(trimNL(out)); d != "" {
			return d
		}
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "pkg", "mod")
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func kernelCachePaths() (dir, zip string, err error) {
	esc, err := module.EscapePath(KernelModule)
	if err != nil {
		return "", "", err
	}
	cache := modCache()
	dir = filepath.Join(cache, esc+"@"+KernelVersion)
	zip = filepath.Join(cache, "cache", "download", esc, "@v", KernelVersion+".zip")
	return dir, zip, nil
}

func goModDownload(ctx context.Context) (dir, zip string, err error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", KernelModule+"@"+KernelVersion)
	cmd.Dir = os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("qemu: downloading the kernel module %s@%s with the go command: %w", KernelModule, KernelVersion, err)
	}
	var m struct{ Dir, Zip, Sum, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", "", fmt.Errorf("qemu: go mod download: %w", err)
	}
	if m.Error != "" {
		return "", "", fmt.Errorf("qemu: go mod download %s@%s: %s", KernelModule, KernelVersion, m.Error)
	}
	return m.Dir, m.Zip, nil
}
