package bootstrap

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jstemmer/go-junit-report/v2/junit"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/vm"
)

// TestOptions select and configure a test run.
type TestOptions struct {
	// Pattern, if set, is a regular expression matched against
	// "Object>>selector"; only matching tests run.
	Pattern string
	// Budget bounds each test (default: the VM's budget).
	Budget time.Duration
	// Progress, if set, is called after each test.
	Progress func(TestResult)
}

// TestResult is the outcome of one test method.
type TestResult struct {
	Object    string
	Selector  string
	Status    string // "pass", "fail" (an assertion failed) or "error"
	Message   string
	Traceback []vm.Frame
	Duration  time.Duration
}

// Name is "Object>>selector".
func (r TestResult) Name() string { return r.Object + ">>" + r.Selector }

// TestReport is the outcome of a run.
type TestReport struct {
	Results        []TestResult
	Passed, Failed int // Failed counts failures and errors
	Duration       time.Duration
}

// traitIndex is implemented by stores that index trait users (image.Image).
type traitIndex interface {
	TraitUsers(trait vm.OID) ([]vm.OID, error)
}

// RunTests runs every test in the image: each method whose name starts with
// "test" on every object that uses the TestCase trait (directly or through
// its prototypes). Each test runs on a fresh clone between setUp and
// tearDown, in a transaction that is always rolled back.
func RunTests(ctx context.Context, v *vm.VM, opts TestOptions) (*TestReport, error) {
	var re *regexp.Regexp
	if opts.Pattern != "" {
		var err error
		if re, err = regexp.Compile(opts.Pattern); err != nil {
			return nil, fmt.Errorf("test: bad pattern %q: %w", opts.Pattern, err)
		}
	}
	suites, err := findTests(v)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &TestReport{}
	for _, s := range suites {
		for _, sel := range s.selectors {
			name := s.name + ">>" + sel
			if re != nil && !re.MatchString(name) {
				continue
			}
			r := runOne(ctx, v, s.obj, s.name, sel, opts.Budget)
			if r.Status == "pass" {
				rep.Passed++
			} else {
				rep.Failed++
			}
			rep.Results = append(rep.Results, r)
			if opts.Progress != nil {
				opts.Progress(r)
			}
		}
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

type suite struct {
	obj       *vm.Object
	name      string
	selectors []string
}

func findTests(v *vm.VM) ([]suite, error) {
	tc := v.Global("TestCase")
	if tc == nil || tc.Kind() != vm.KindTrait {
		return nil, fmt.Errorf("test: the image has no TestCase trait")
	}
	candidates := map[*vm.Object]bool{}
	if idx, ok := v.Store().(traitIndex); ok && tc.OID() != 0 {
		users, err := idx.TraitUsers(tc.OID())
		if err != nil {
			return nil, fmt.Errorf("test: listing users of TestCase: %w", err)
		}
		for _, id := range users {
			o, err := v.Object(id)
			if err != nil {
				return nil, fmt.Errorf("test: %w", err)
			}
			candidates[o] = true
		}
	}
	v.Lobby().T().ForEach(func(_, val lua.LValue) {
		if o := v.ObjectOf(val); o != nil && o.Kind() == vm.KindObject {
			candidates[o] = true
		}
	})
	var out []suite
	for o := range candidates {
		if !usesTrait(o, tc) {
			continue
		}
		var sels []string
		for _, s := range v.AllMethodNames(o) {
			if strings.HasPrefix(s, "test") {
				sels = append(sels, s)
			}
		}
		if len(sels) > 0 {
			out = append(out, suite{obj: o, name: o.DisplayName(), selectors: sels})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].name != out[j].name {
			return out[i].name < out[j].name
		}
		return out[i].obj.OID() < out[j].obj.OID()
	})
	return out, nil
}

func usesTrait(o, tr *vm.Object) bool {
	for p := o; p != nil; p = p.Proto() {
		for _, t := range p.TraitObjects() {
			if t == tr {
				return true
			}
		}
	}
	return false
}

func runOne(ctx context.Context, v *vm.VM, o *vm.Object, name, sel string, budget time.Duration) TestResult {
	r := TestResult{Object: name, Selector: sel, Status: "pass"}
	start := time.Now()
	err := v.Do(ctx, vm.TxOptions{Rollback: true, Budget: budget}, func() error {
		inst, err := v.Clone(o)
		if err != nil {
			return err
		}
		if _, err := v.Send(inst.T(), "setUp"); err != nil {
			return err
		}
		_, testErr := v.Send(inst.T(), sel)
		_, downErr := v.Send(inst.T(), "tearDown")
		if testErr != nil {
			return testErr
		}
		return downErr
	})
	r.Duration = time.Since(start)
	if err != nil {
		r.Status = "error"
		r.Message = err.Error()
		if e, ok := err.(*vm.Error); ok {
			r.Traceback = e.Traceback
			if e.Kind == "TestFailure" {
				r.Status = "fail"
				r.Message = e.Message
			}
		}
	}
	return r
}

// Summary is the last line phoenix test prints: "N passed, N failed".
func (r *TestReport) Summary() string {
	return fmt.Sprintf("%d passed, %d failed", r.Passed, r.Failed)
}

// WriteText prints each failure with its traceback, then the summary.
func (r *TestReport) WriteText(w io.Writer) error {
	for _, t := range r.Results {
		if t.Status == "pass" {
			continue
		}
		fmt.Fprintf(w, "%s %s: %s\n", strings.ToUpper(t.Status), t.Name(), t.Message)
		for _, f := range t.Traceback {
			fmt.Fprintf(w, "    %s\n", f)
		}
	}
	_, err := fmt.Fprintln(w, r.Summary())
	return err
}

// WriteJUnit writes the report as JUnit XML, one testsuite per object.
func (r *TestReport) WriteJUnit(w io.Writer, image string) error {
	var order []string
	built := map[string]*junit.Testsuite{}
	for _, t := range r.Results {
		s := built[t.Object]
		if s == nil {
			s = &junit.Testsuite{Name: t.Object, Package: image}
			built[t.Object] = s
			order = append(order, t.Object)
		}
		tc := junit.Testcase{Name: t.Selector, Classname: t.Object, Time: fmt.Sprintf("%.3f", t.Duration.Seconds())}
		var tb strings.Builder
		for _, f := range t.Traceback {
			tb.WriteString(f.String())
			tb.WriteString("\n")
		}
		switch t.Status {
		case "fail":
			tc.Failure = &junit.Result{Message: t.Message, Type: "TestFailure", Data: tb.String()}
		case "error":
			tc.Error = &junit.Result{Message: t.Message, Type: "Error", Data: tb.String()}
		}
		s.AddTestcase(tc)
	}
	var suites junit.Testsuites
	for _, name := range order {
		suites.AddSuite(*built[name])
	}
	return suites.WriteXML(w)
}
