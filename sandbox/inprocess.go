package sandbox

import "context"

type inProcess struct{}

// NewInProcess returns a Validator that runs Run in this process. Its
// boundary is only the image's restricted Lua library and the budget: a
// candidate that exhausts memory takes the process with it.
func NewInProcess() Validator { return inProcess{} }

func (inProcess) Validate(ctx context.Context, req *Request) (*Result, error) {
	res := Run(ctx, req)
	res.Boundary = BoundaryInProcess
	return res, nil
}

func (inProcess) Boundary() string { return BoundaryInProcess }
func (inProcess) Close() error     { return nil }
