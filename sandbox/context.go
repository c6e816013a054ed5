package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

// ContextFor builds a Request.Context from a live image: what image.Fileout
// writes for the named objects, their prototypes and traits, and the named
// objects their slots refer to (transitively), plus the literal globals, in
// load order, as one Lua chunk. It files out into a temporary directory on
// the caller's side; Run itself never touches the disk.
func ContextFor(v *vm.VM, names ...string) (string, error) {
	dir, err := os.MkdirTemp("", "phoenix-context-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if _, err := image.Fileout(v, dir); err != nil {
		return "", fmt.Errorf("sandbox: fileout: %w", err)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, image.ManifestName))
	if err != nil {
		return "", err
	}
	var files []string
	for _, l := range strings.Split(string(manifest), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			files = append(files, l)
		}
	}
	// Slot links ("Target.slot = Name"), by the target's root name.
	type link struct{ line, root, value string }
	var links []link
	if b, err := os.ReadFile(filepath.Join(dir, "_links.lua")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			lhs, rhs, ok := strings.Cut(l, " = ")
			if !ok || strings.HasPrefix(l, "--") {
				continue
			}
			root := lhs[:strings.IndexAny(lhs+".", ".[")]
			links = append(links, link{l, root, strings.TrimSpace(rhs)})
		}
	}
	named := map[*vm.Object]string{}
	for _, k := range v.Lobby().SlotNames() {
		if k.Type().String() != "string" {
			continue
		}
		if o := v.Global(k.String()); o != nil {
			if _, dup := named[o]; !dup {
				named[o] = k.String()
			}
		}
	}
	need := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		o := v.Global(name)
		if need[name] || o == nil {
			return
		}
		need[name] = true
		if p := o.Proto(); p != nil && named[p] != "" {
			visit(named[p])
		}
		for _, t := range o.TraitObjects() {
			if named[t] != "" {
				visit(named[t])
			}
		}
		for _, l := range links {
			if l.root == name {
				visit(l.value)
			}
		}
	}
	for _, n := range names {
		if v.Global(n) == nil {
			return "", fmt.Errorf("sandbox: no object named %q", n)
		}
		visit(n)
	}
	var sb strings.Builder
	for _, f := range files {
		name := strings.TrimSuffix(f, ".lua")
		switch {
		case f == "_links.lua":
			var keep []string
			for _, l := range links {
				if need[l.root] && need[l.value] {
					keep = append(keep, l.line)
				}
			}
			sort.Strings(keep)
			if len(keep) > 0 {
				sb.WriteString(strings.Join(keep, "\n") + "\n")
			}
			continue
		case f != "_globals.lua" && !need[name]:
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return "", err
		}
		sb.Write(b)
		sb.WriteString("\n")
	}
	return sb.String(), nil
}
