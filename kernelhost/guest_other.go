//go:build !linux

package kernelhost

import (
	"fmt"
	"os"
)

// Command runs one phoenix command line in this process.
type Command func(args []string) int

// RunInit is PID 1 under QEMU; only Linux guests exist.
func RunInit(Command) {
	fmt.Fprintln(os.Stderr, "phoenix: init: the guest runs only on Linux")
	os.Exit(1)
}
