// Package qemu boots a Phoenix image under qemu-system-x86_64: it finds
// the pinned kernel (Kernel), builds and caches the boot artifact
// (BuildArtifact: the kernel plus an initramfs whose /init is a static
// phoenix), makes the virtio disk that carries the image into the guest
// and back (BuildDisk, CopyBack), and runs the machine (Run), watching its
// serial console for the lines PID 1 prints (kernelhost.ReadyPrefix,
// kernelhost.ExitPrefix).
//
// It may import the standard library, golang.org/x/mod (to verify the
// kernel module's hash), package kernelhost and kernelhost/initramfs; it
// runs the tools mkfs.ext4, e2fsck and debugfs (e2fsprogs) and
// qemu-system-x86_64. It does not know what an image is beyond its files:
// the caller (cmd/phoenix) locks the image and swaps its store.
package qemu

// Blank import: this pins the kernel module in go.mod, so that go.sum
// holds the hash Kernel verifies the module's files against.
import _ "github.com/gokrazy/kernel.amd64"
