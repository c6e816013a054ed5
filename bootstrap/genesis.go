package bootstrap

import (
	"context"
	"fmt"

	"github.com/phoenix-image/phoenix/traits"
	"github.com/phoenix-image/phoenix/vm"
)

// Genesis builds a fresh image in an empty store: the kernel objects, then
// the standard trait library and its tests, committed as one transaction by
// the system author.
func Genesis(ctx context.Context, opts vm.Options) (*vm.VM, error) {
	v, err := vm.Create(opts)
	if err != nil {
		return nil, err
	}
	err = v.Do(ctx, vm.TxOptions{Author: vm.AuthorSystem}, func() error {
		for _, src := range traits.Library() {
			if _, err := v.Eval(ctx, src.Code, vm.EvalOptions{Name: src.Name, NoExpr: true}); err != nil {
				return fmt.Errorf("genesis: %s: %w", src.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}
