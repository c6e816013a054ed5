package bootstrap

import (
	"context"
	"fmt"
	"sort"

	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

// The browser's editing tools over the remote protocol, where an eval on
// the server cannot do them honestly: a method's history (structured
// data), senders (found by parsing sources with vm.Sends), implementors,
// and trait composition (a trait use's exclusions and aliases are not
// visible to Lua). Creating and removing objects and slots, and reverting
// a method, are evaluations (the client's).

// History implements remote.Backend.
func (b *RemoteBackend) History(ctx context.Context, path, selector string) (*remote.HistoryResult, error) {
	out := &remote.HistoryResult{Changes: []remote.Change{}}
	err := b.read(ctx, func(v *vm.VM) error {
		o, err := resolve(v, path)
		if err != nil {
			return err
		}
		hs, err := v.History(o, selector)
		if err != nil {
			return fmt.Errorf("history of %s>>%s: %w", o.DisplayName(), selector, err)
		}
		for _, h := range hs {
			out.Changes = append(out.Changes, remote.Change{Time: h.Time, Author: string(h.Author), Note: h.Note, Old: h.Old, New: h.New})
		}
		return nil
	})
	return out, err
}

// searched lists the Lobby's objects and their traits, each once, named
// by their global name when they have one (as the local browser's
// search). It runs inside a transaction.
func searched(v *vm.VM) ([]*vm.Object, []remote.ObjectRef) {
	lobby := v.Lobby()
	seen := map[vm.OID]bool{}
	var objs []*vm.Object
	var refs []remote.ObjectRef
	add := func(o *vm.Object, name string) {
		if o.OID() != 0 && seen[o.OID()] {
			return
		}
		seen[o.OID()] = true
		objs, refs = append(objs, o), append(refs, ref(o, name))
	}
	keys := lobby.SlotNames()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var globals []*vm.Object
	for _, k := range keys {
		o := objectIn(v, lobby.T().RawGet(k))
		if o == nil || o.Kind() == vm.KindTable {
			continue
		}
		globals = append(globals, o)
		add(o, k.String())
	}
	for _, g := range globals {
		for _, t := range g.TraitObjects() {
			add(t, "")
		}
	}
	return objs, refs
}

// Senders implements remote.Backend.
func (b *RemoteBackend) Senders(ctx context.Context, selector string) (*remote.SendersResult, error) {
	out := &remote.SendersResult{Methods: []remote.MethodAt{}}
	err := b.read(ctx, func(v *vm.VM) error {
		objs, refs := searched(v)
		for i, o := range objs {
			for _, sel := range o.MethodNames() {
				if src, _ := v.MethodSource(o, sel); vm.Sends(src, selector) {
					out.Methods = append(out.Methods, remote.MethodAt{Object: refs[i], Selector: sel})
				}
			}
		}
		sort.Slice(out.Methods, func(i, j int) bool {
			a, c := out.Methods[i], out.Methods[j]
			if a.Object.Name != c.Object.Name {
				return a.Object.Name < c.Object.Name
			}
			return a.Selector < c.Selector
		})
		return nil
	})
	return out, err
}

// Implementors implements remote.Backend.
func (b *RemoteBackend) Implementors(ctx context.Context, selector string) (*remote.BrowseResult, error) {
	out := &remote.BrowseResult{Objects: []remote.ObjectRef{}}
	err := b.read(ctx, func(v *vm.VM) error {
		objs, refs := searched(v)
		for i, o := range objs {
			if _, ok := v.MethodSource(o, selector); ok {
				out.Objects = append(out.Objects, refs[i])
			}
		}
		sort.Slice(out.Objects, func(i, j int) bool { return out.Objects[i].Name < out.Objects[j].Name })
		return nil
	})
	return out, err
}

// Compose implements remote.Backend: path uses(...) its traits plus (Use)
// or minus the global trait, each kept with its exclusions and aliases,
// as one transaction.
func (b *RemoteBackend) Compose(ctx context.Context, p remote.ComposeParams) error {
	return b.run(ctx, func(v *vm.VM) error {
		var inner error
		err := v.Do(ctx, vm.TxOptions{}, func() error {
			inner = compose(ctx, v, p)
			return inner
		})
		if inner != nil {
			return evalError(inner)
		}
		return evalError(err)
	})
}

func compose(ctx context.Context, v *vm.VM, p remote.ComposeParams) error {
	o, err := resolve(v, p.Path)
	if err != nil {
		return err
	}
	verb := "using"
	if !p.Use {
		verb = "no longer using"
	}
	fail := func(format string, args ...any) error {
		return remote.Errorf(remote.CodeFailed, "%s %s %s: %s", o.DisplayName(), verb, p.Trait, fmt.Sprintf(format, args...))
	}
	tr := v.Global(p.Trait)
	if tr == nil || tr.Kind() != vm.KindTrait {
		return fail("there is no trait %q in the Lobby", p.Trait)
	}
	src, args, found, err := v.Recompose(o, tr, p.Use)
	if err != nil {
		return fail("%v", err)
	}
	switch {
	case p.Use && found:
		return fail("it uses it already")
	case !p.Use && !found:
		return fail("it does not use it")
	}
	_, err = v.Eval(ctx, src, vm.EvalOptions{Name: "remote", NoExpr: true, Args: args})
	return err
}
