package qemu

import (
	"debug/elf"
	"fmt"
)

// isStaticELF checks that path is an x86-64 ELF executable without a
// dynamic loader: the initramfs holds nothing else for it to load.
func isStaticELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("qemu: the phoenix binary for the guest %s: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("qemu: the phoenix binary for the guest %s is for %v, not x86-64", path, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("qemu: the phoenix binary for the guest %s is dynamically linked; build it with CGO_ENABLED=0 (make build makes bin/phoenix-sandbox)", path)
		}
	}
	return nil
}
