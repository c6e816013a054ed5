//go:build !linux

package kernelhost

import (
	"fmt"
	"os"
)

// Command runs one phoenix command line in this process, on the Host h.
type Command func(h Host, args []string) int

// newGuest is never called: InGuest is false where Linux is not.
func newGuest(bool) Host { return Hosted{Dir: MountPoint} }

// RunInit is PID 1 under QEMU; only Linux guests exist.
func RunInit(Command) {
	fmt.Fprintln(os.Stderr, "phoenix: init: the guest runs only on Linux")
	os.Exit(1)
}
