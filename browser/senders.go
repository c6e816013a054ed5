package browser

import "github.com/phoenix-image/phoenix/vm"

// Sends reports whether the Lua source src sends selector (vm.Sends: the
// parsed source holds x:selector(...) or x.selector(...)). It lives in vm
// so that a remote image's server finds senders the same way.
func Sends(src, selector string) bool { return vm.Sends(src, selector) }
