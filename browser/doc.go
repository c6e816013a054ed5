// Package browser is Phoenix's object browser: a Gio view of a running
// image with the Lobby's objects on the left (filtered by a search field),
// the selected object's prototype chain, traits, slots and methods in the
// middle, and a method editor with Accept on the right.
//
// Start reading at Image (image.go), the boundary between the widgets and
// the VM, and Browser (browser.go), the state struct whose Layout draws the
// three panes. Following Gio's idiom, all state lives in plain structs and
// drawing is a function of it; there are no callbacks in a widget tree, so
// tests drive a Browser with an input.Router and read its state back.
//
// The VM is not safe for concurrent use and the UI must never block, so the
// browser never touches a *vm.VM directly: it asks an Image, whose answers
// are plain snapshots (ObjectRef, ObjectView) that can cross goroutines.
// VMImage is the synchronous implementation used by tests; the GUI's wiring
// implements Image by running each call on the VM's goroutine.
//
// browser may import vm, gioui.org and the standard library; not image,
// agent, sandbox, workspace, bootstrap or cmd (bootstrap only in tests).
package browser
