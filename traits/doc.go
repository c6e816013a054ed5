// Package traits holds the trait algebra and the standard trait library.
//
// The algebra (Compose) is pure: given the traits an object uses, with
// their exclusions and aliases, it computes the flattened method set and
// the conflicts — a selector provided by two traits is a conflict until it
// is excluded from one of them or aliased. Composition is a set operation:
// the order of the traits never changes the result. Package vm applies the
// result to Lua tables.
//
// The standard library (Comparable, Enumerable, Printable and TestCase,
// with their own tests) is shipped as Lua sources embedded in the binary;
// Library returns them in load order. Genesis (package bootstrap) evaluates
// them into a fresh image.
//
// It may import only the standard library.
package traits
