// Package vm is Phoenix's object model and execution engine: prototype
// objects whose slots and methods live in Lua tables, traits, message
// sends with doesNotUnderstand, mirrors for reflection, transactions with
// commit and rollback, evaluation budgets and tracebacks.
//
// Start reading from VM (vm.go) and Object (object.go).
//
// # How Lua values map to the object model
//
//   - A Phoenix object is a Lua table holding its own slots and methods raw,
//     with a private metatable whose __index is its prototype's table (or a
//     table of its flattened trait methods, which in turn delegates to the
//     prototype). A send that hits therefore runs entirely inside the Lua VM:
//     no Go call on the hit path.
//   - The root prototype Object ends the chain with a Go __index that records
//     the missed selector; nil's __call metamethod turns the following call
//     of nil into a doesNotUnderstand send. Reading a missing slot is nil.
//   - A trait is an empty proxy table (so every write is seen) in front of a
//     table of methods.
//   - Persistence is by reachability. Writes to existing keys of a Lua table
//     cannot be observed in gopher-lua, so at commit the VM compares every
//     persistent table the transaction touched with a shadow of its last
//     committed contents. After each transaction the touched tables are
//     "armed" (emptied, contents kept in the shadow, fault metatable back),
//     so that the next touch is seen (see txn.go, and docs/ARCHITECTURE.md
//     for the numbers behind that choice).
//   - Objects are faulted in lazily: a not-yet-loaded object is an empty table
//     with a fault metatable that loads it on first touch.
//
// vm knows nothing of Pebble, GUIs, LLMs or QEMU. It persists through the
// small Store interface (store.go), which package image implements, and it
// asks for help with a message not understood through the NotUnderstood
// interface, which the agent implements. The clock of os.time, os.clock
// and os.date and the seed of math.random come from Options.Clock and
// Options.Entropy, which the wiring takes from kernelhost.Host (vm does
// not import it).
//
// It may import only the standard library, gopher-lua, package traits (the
// trait algebra) and its own subpackages (vm/luasrc, vm/bitlib).
package vm
