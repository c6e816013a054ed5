// Package bootstrap makes and boots images: Genesis builds a fresh image
// (the VM's kernel objects plus the standard trait library), Open opens an
// existing one (the root task that later issues extend with servers), and
// RunTests is the headless test runner over the tests that live in an image.
// RemoteBackend serves an open image over the remote protocol
// (kernelhost/remote).
//
// Open is also the root task's first step under QEMU: once the image is
// open it prints the READY line on the serial console (kernelhost.Ready).
// Supervisor runs the root task's services (servers, the console) and
// restarts one that panics or fails, logging it; the image stays
// consistent because every evaluation is a transaction that a panic rolls
// back. (In the guest, PID 1 also restarts a server command that dies of
// a panic: kernelhost.BootConfig.Restart.)
//
// It wires the layers together, so it may import vm, traits, image and
// kernelhost (and the standard library, a JUnit XML writer and
// kernelhost/remote, the protocol below it); nothing below it imports
// bootstrap.
package bootstrap
