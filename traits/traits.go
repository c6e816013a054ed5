package traits

import (
	"embed"
	"io/fs"
	"sort"
)

// Use is one trait in a composition.
type Use[M comparable] struct {
	Name    string       // the trait's name, for conflict reports
	Methods map[string]M // the trait's own methods
	Exclude []string
	Aliases map[string]string // new selector -> trait's selector
}

// Composition is the result of composing traits.
type Composition[M comparable] struct {
	Methods   map[string]M
	Conflicts map[string][]string // selector -> names of the providing traits, sorted
}

// Compose flattens uses into one method set. A selector provided by more
// than one use (after exclusions, counting aliases) is a conflict and is
// left out of Methods.
func Compose[M comparable](uses []Use[M]) Composition[M] {
	type prov struct {
		m    M
		from string
	}
	provided := map[string][]prov{}
	for _, u := range uses {
		excluded := make(map[string]bool, len(u.Exclude))
		for _, e := range u.Exclude {
			excluded[e] = true
		}
		for sel, m := range u.Methods {
			if !excluded[sel] {
				provided[sel] = append(provided[sel], prov{m, u.Name})
			}
		}
		for alias, orig := range u.Aliases {
			if m, ok := u.Methods[orig]; ok {
				provided[alias] = append(provided[alias], prov{m, u.Name + "@" + orig})
			}
		}
	}
	c := Composition[M]{Methods: map[string]M{}}
	for sel, ps := range provided {
		if len(ps) == 1 {
			c.Methods[sel] = ps[0].m
			continue
		}
		names := make([]string, len(ps))
		for i, p := range ps {
			names[i] = p.from
		}
		sort.Strings(names)
		if c.Conflicts == nil {
			c.Conflicts = map[string][]string{}
		}
		c.Conflicts[sel] = names
	}
	return c
}

//go:embed lib/*.lua
var lib embed.FS

// Source is one Lua source file of the standard library.
type Source struct {
	Name string // e.g. "10_comparable.lua"
	Code string
}

// Library returns the standard trait library in load order.
func Library() []Source {
	names, err := fs.Glob(lib, "lib/*.lua")
	if err != nil {
		panic(err) // the pattern is constant
	}
	sort.Strings(names)
	out := make([]Source, 0, len(names))
	for _, n := range names {
		b, err := lib.ReadFile(n)
		if err != nil {
			panic(err)
		}
		out = append(out, Source{Name: n[len("lib/"):], Code: string(b)})
	}
	return out
}
