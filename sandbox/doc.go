// Package sandbox validates a method the agent proposes — the candidate
// method, the tests that come with it and the call that first failed —
// before it is approved or installed in a real image.
//
// Validation is stateless: Run builds a throwaway image in memory (Genesis
// on a vm.MemStore), recreates the receiver from Lua source (what
// image.Fileout writes), defines the candidate, runs the proposed tests and
// reproduces the original call, all under one wall-time budget, and never
// touches the disk. Because nothing of one request survives into the next,
// a warm sandbox can serve any request.
//
// Where Run executes is the Validator's business. NewInProcess runs it in
// the calling process: the image's restricted Lua library and the budget
// are the only boundary. NewRunsc runs it inside gVisor sandboxes (runsc,
// no network, read-only root holding only a static phoenix binary, rlimits
// on memory, CPU, files and processes), through the hidden
// `phoenix sandbox-exec` command, with a pool of warm sandboxes so that a
// validation costs one `runsc exec`.
//
// It also runs environment personalities (personality.go): a cached
// Debian root filesystem under runsc, started on demand, stopped when idle,
// with the Lua objects Personality and Personalities and the "personality"
// builtin (personalityobjects.go); inside a validation the builtin is
// Simulated, since no runsc is nested in the sandbox.
//
// It may import vm, traits, bootstrap, image (for Filein/Fileout only) and
// the standard library; nothing below it imports sandbox.
package sandbox
