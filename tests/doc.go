// Package tests holds Phoenix's end-to-end tests: they build the real
// phoenix binary and drive it as a user would (txtar scripts under
// testdata/script), kill it mid-commit to prove crash safety, and measure
// the whole stack in benchmarks.
//
// It may import every Phoenix package (for fixtures and benchmarks) but is
// imported by nothing.
package tests
