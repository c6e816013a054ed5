// Package bootstrap makes and boots images: Genesis builds a fresh image
// (the VM's kernel objects plus the standard trait library), Open opens an
// existing one (the root task that later issues extend with servers), and
// RunTests is the headless test runner over the tests that live in an image.
// RemoteBackend serves an open image over the remote protocol
// (kernelhost/remote).
//
// It wires the layers together, so it may import vm, traits and image (and
// the standard library, a JUnit XML writer and kernelhost/remote, the
// protocol below it); nothing below it imports
// bootstrap.
package bootstrap
