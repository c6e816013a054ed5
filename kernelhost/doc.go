// Package kernelhost is what the Phoenix VM needs from below it: a
// console, durable storage for the image, a network, a clock, entropy and
// power. Host is that boundary; it has two implementations:
//
//   - Hosted: Phoenix is a normal process of a normal operating system,
//     which has already done everything (the console is stdio, storage is
//     the file system, power-off is the process exiting).
//   - Guest: Phoenix is PID 1 of the minimal Linux kernel bundled for QEMU
//     (gokrazy's kernel, not a microkernel). RunInit mounts proc, sys and
//     dev, brings up lo and eth0, mounts the virtio disk that holds the
//     image, runs the phoenix command the host chose (in itself, or as a
//     child it restarts after a panic for servers), reaps every process,
//     then syncs, unmounts and powers off.
//
// Detect picks a process's Host once at start (Guest in the QEMU guest,
// else Hosted); cmd/phoenix runs every command on it and leaves through
// its PowerOff, and bootstrap gives its clock and entropy to the VM (vm
// takes them as plain options and does not import kernelhost).
//
// A microkernel port (an seL4 root task, say) would implement Host with
// its own servers: a serial driver for Console, a block driver plus a file
// system good enough for Pebble (or a store on raw blocks) for Storage, a
// network stack for Network, a timer for Clock, a seeded generator for
// Entropy, and the platform's power call; docs/ARCHITECTURE.md says more.
//
// Ready announces the READY line on the console with the time since PID 1
// started, which the host side (kernelhost/qemu) and the benchmarks read.
//
// It may import only the standard library, golang.org/x/sys/unix and a
// netlink library; no Phoenix package. The boot artifact is built by
// kernelhost/initramfs and run by kernelhost/qemu.
package kernelhost
