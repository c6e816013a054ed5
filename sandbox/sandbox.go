package sandbox

import (
	"context"
	"time"
)

// DefaultBudget is the wall time of one validation unless the request says
// otherwise.
const DefaultBudget = 5 * time.Second

// MaxOutput caps Result.Output.
const MaxOutput = 64 << 10

// Boundary names.
const (
	BoundaryGVisor    = "gvisor"
	BoundaryInProcess = "in-process (weaker boundary: no gVisor)"
)

// TestPattern selects the proposed tests among the image's tests.
const TestPattern = "^ProposalTest>>"

// Request is one candidate method to validate.
type Request struct {
	// Context is Lua source that recreates the relevant objects in a fresh
	// image (what image.Fileout writes for the receiver, its prototypes and
	// traits); it is evaluated first.
	Context string
	// Receiver is the global name of the object the method is for.
	Receiver string
	// Selector is the method's selector, e.g. "withdraw".
	Selector string
	// Source is the candidate: "function Account:withdraw(n) ... end".
	Source string
	// Tests defines test methods on ProposalTest, an Object:clone() that
	// uses TestCase: "function ProposalTest:testWithdraw() ... end".
	Tests string
	// Call reproduces the original call and returns its result.
	Call string
	// Budget is the wall time of the whole validation (default 5 s).
	Budget time.Duration
}

// TestOutcome is one proposed test's result. Status is "pass", "fail" or
// "error".
type TestOutcome struct{ Name, Status, Message string }

// Result is what a validation found. Failures of the candidate are in
// CompileError, Tests and CallError; Error is for the sandbox itself.
type Result struct {
	Boundary string
	// OK: the candidate compiled, at least one test ran and all passed,
	// and the call ran without error.
	OK           bool
	CompileError string
	Tests        []TestOutcome
	Passed       int
	Failed       int
	CallResult   string // printStrings of the call's results, tab-separated
	CallError    string
	Output       string // what the code printed, capped at MaxOutput
	Duration     time.Duration
	// Error says the sandbox failed (timeout, out of memory, crash) or the
	// request was unusable (its Context did not evaluate).
	Error    string
	MaxRSSKB int64 // peak resident memory of the sandbox, where known
}

// Validator validates requests somewhere: in this process or in a sandbox.
type Validator interface {
	// Validate returns an error only when the infrastructure failed; the
	// candidate's failures are in the Result.
	Validate(ctx context.Context, req *Request) (*Result, error)
	// Boundary names the isolation (BoundaryGVisor or BoundaryInProcess).
	Boundary() string
	Close() error
}

func (r *Result) settle() {
	r.OK = r.Error == "" && r.CompileError == "" && r.CallError == "" && r.Passed > 0 && r.Failed == 0
}
