package workspace

import (
	"fmt"
	"strings"
	"testing"

	"gioui.org/io/key"
	lua "github.com/yuin/gopher-lua"
)

func TestDoItChangesTheImage(t *testing.T) {
	v := freshImage(t)
	d := newDriver(t, VMEvaluator{VM: v})
	d.typeText("Lobby.smoke = 42")
	d.press("D", key.ModShortcut)
	if e := d.w.Err(); e != "" {
		t.Fatalf("do it failed: %s", e)
	}
	if got := global(t, v, "smoke"); got != lua.LNumber(42) {
		t.Errorf("after Ctrl-D smoke = %v, want 42", got)
	}
	if got := d.w.Editor.Text(); got != "Lobby.smoke = 42" {
		t.Errorf("do it changed the editor's text to %q", got)
	}
}

func TestDoItRunsTheCaretLineOrTheSelection(t *testing.T) {
	v := freshImage(t)
	d := newDriver(t, VMEvaluator{VM: v})
	d.typeText("Lobby.a = 1\nLobby.b = 2\nLobby.c = 3")
	// No selection: only the caret's line (the middle one) runs.
	d.w.Editor.SetCaret(15, 15)
	d.press("D", key.ModShortcut)
	if a, b, c := global(t, v, "a"), global(t, v, "b"), global(t, v, "c"); a != lua.LNil || b != lua.LNumber(2) || c != lua.LNil {
		t.Fatalf("do it with the caret on line 2 set a, b, c = %v, %v, %v; want nil, 2, nil", a, b, c)
	}
	// A selection across lines 1 and 3 runs all of it.
	d.w.Editor.SetCaret(0, d.w.Editor.Len())
	d.press("D", key.ModShortcut)
	if a, c := global(t, v, "a"), global(t, v, "c"); a != lua.LNumber(1) || c != lua.LNumber(3) {
		t.Fatalf("do it on the whole text set a, c = %v, %v; want 1, 3", a, c)
	}
}

func TestPrintItInsertsTheResultSelected(t *testing.T) {
	d := newDriver(t, VMEvaluator{VM: freshImage(t)})
	d.typeText("3 + 4")
	d.press("P", key.ModShortcut)
	if e := d.w.Err(); e != "" {
		t.Fatalf("print it failed: %s", e)
	}
	if got := d.w.Editor.Text(); got != "3 + 4 7" {
		t.Errorf("after Ctrl-P the editor holds %q, want %q", got, "3 + 4 7")
	}
	if got := d.w.Editor.SelectedText(); got != " 7" {
		t.Errorf("after Ctrl-P the selection is %q, want the inserted %q", got, " 7")
	}
	// Backspace removes the printed result again, as in Pharo.
	d.press(key.NameDeleteBackward, 0)
	if got := d.w.Editor.Text(); got != "3 + 4" {
		t.Errorf("after Backspace the editor holds %q, want %q", got, "3 + 4")
	}
}

func TestPrintItOnAMiddleLineInsertsAtItsEnd(t *testing.T) {
	d := newDriver(t, VMEvaluator{VM: freshImage(t)})
	d.typeText("-- sums\n2 * 21\n-- end")
	d.w.Editor.SetCaret(9, 9)
	d.press("P", key.ModShortcut)
	if got, want := d.w.Editor.Text(), "-- sums\n2 * 21 42\n-- end"; got != want {
		t.Errorf("editor holds %q, want %q", got, want)
	}
}

func TestPrintGoesToTheTranscript(t *testing.T) {
	d := newDriver(t, VMEvaluator{VM: freshImage(t)})
	d.typeText(`print("hi")`)
	d.press("D", key.ModShortcut)
	if e := d.w.Err(); e != "" {
		t.Fatalf("do it failed: %s", e)
	}
	if got := d.w.Transcript(); got != "hi\n" {
		t.Errorf("Transcript = %q, want %q", got, "hi\n")
	}
	d.frame()
	if !d.shows("hi") {
		t.Error("the Transcript pane does not show hi")
	}
}

func TestAnErrorShowsInlineAndLeavesTheImageUnchanged(t *testing.T) {
	v := freshImage(t)
	d := newDriver(t, VMEvaluator{VM: v})
	d.typeText("Lobby.before = 1; Object:clone():nope()")
	d.press("D", key.ModShortcut)
	e := d.w.Err()
	if !strings.Contains(e, "MessageNotUnderstood") {
		t.Fatalf("error = %q, want MessageNotUnderstood", e)
	}
	if !strings.Contains(e, "traceback:") {
		t.Errorf("error %q has no traceback", e)
	}
	if got := global(t, v, "before"); got != lua.LNil {
		t.Errorf("the failed do it left before = %v in the image", got)
	}
	first, _, _ := strings.Cut(e, "\n")
	if !d.shows(first) {
		t.Errorf("the error's first line %q is not on screen", first)
	}
	if d.shows("traceback:") {
		t.Error("the traceback is shown before it is unfolded")
	}
	d.click(d.find("▸ traceback"))
	if !d.w.ShowTraceback || !d.shows("traceback:") {
		t.Error("clicking ▸ traceback does not show it")
	}
	// A print it that fails inserts nothing.
	d.typeText("Object:clone():nope()")
	d.press("P", key.ModShortcut)
	if got := d.w.Editor.Text(); got != "Object:clone():nope()" {
		t.Errorf("a failed print it changed the editor to %q", got)
	}
}

func TestInspectItSetsInspected(t *testing.T) {
	d := newDriver(t, VMEvaluator{VM: freshImage(t)})
	d.typeText("6 * 7")
	d.press("I", key.ModShortcut)
	in := d.w.Inspected
	if in == nil {
		t.Fatal("Ctrl-I left Inspected nil")
	}
	if in.Source != "6 * 7" || len(in.Result.Values) != 1 || in.Result.Values[0] != "42" {
		t.Errorf("Inspected = %+v, want 6 * 7 → 42", in)
	}
	if !d.shows("Inspecting: 42") {
		t.Error("the result line does not show Inspecting: 42")
	}
	if got := d.w.Editor.Text(); got != "6 * 7" {
		t.Errorf("inspect it changed the editor to %q", got)
	}
}

func TestButtons(t *testing.T) {
	v := freshImage(t)
	d := newDriver(t, VMEvaluator{VM: v})
	d.typeText("Lobby.n = (n or 0) + 1")
	d.click(d.find("Do it"))
	if got := global(t, v, "n"); got != lua.LNumber(1) {
		t.Fatalf("after Do it n = %v, want 1", got)
	}
	d.typeText("10 - 3")
	d.click(d.find("Print it"))
	if got := d.w.Editor.Text(); got != "10 - 3 7" {
		t.Errorf("after Print it the editor holds %q", got)
	}
	d.typeText("Object")
	d.click(d.find("Inspect it"))
	if d.w.Inspected == nil || d.w.Inspected.Source != "Object" {
		t.Errorf("after Inspect it Inspected = %+v", d.w.Inspected)
	}
	// The editor has the focus back: a shortcut still works.
	d.typeText("Lobby.n = n + 1")
	d.press("D", key.ModShortcut)
	if got := global(t, v, "n"); got != lua.LNumber(2) {
		t.Errorf("after Ctrl-D n = %v, want 2", got)
	}
}

// slowEvaluator answers ErrPending until released, like an asynchronous
// Evaluator, and counts how often it started an evaluation.
type slowEvaluator struct {
	inner   Evaluator
	src     string
	started int
	stopped int
	ready   bool
}

func (s *slowEvaluator) Eval(src string) (EvalResult, error) {
	if src != s.src {
		s.src, s.ready = src, false
		s.started++
	}
	if !s.ready {
		return EvalResult{}, ErrPending
	}
	s.src = ""
	if s.stopped > 0 {
		return EvalResult{Error: "Interrupted: evaluation interrupted and rolled back"}, nil
	}
	return s.inner.Eval(src)
}

func (s *slowEvaluator) Stop() { s.stopped++; s.ready = true }

func TestRunningAndStop(t *testing.T) {
	v := freshImage(t)
	slow := &slowEvaluator{inner: VMEvaluator{VM: v}}
	d := newDriver(t, slow)
	d.typeText("Lobby.x = 1")
	d.press("D", key.ModShortcut)
	if !d.w.Running {
		t.Fatal("a pending evaluation does not set Running")
	}
	d.frame()
	d.frame()
	if slow.started != 1 {
		t.Errorf("the pending evaluation was started %d times", slow.started)
	}
	if !d.shows("running do it") {
		t.Error("the toolbar does not say it is running")
	}
	d.press("D", key.ModShortcut) // ignored while running
	d.click(d.find("Stop"))
	if slow.stopped != 1 {
		t.Fatalf("Stop called the Evaluator's Stop %d times", slow.stopped)
	}
	d.frame()
	if d.w.Running {
		t.Error("still Running after the interrupted evaluation answered")
	}
	if !strings.Contains(d.w.Err(), "Interrupted") {
		t.Errorf("error after Stop = %q", d.w.Err())
	}
	if got := global(t, v, "x"); got != lua.LNil {
		t.Errorf("the stopped evaluation set x = %v", got)
	}
	if slow.started != 1 {
		t.Errorf("%d evaluations started, want 1", slow.started)
	}

	// Without Stop, the answer arrives on a later frame.
	slow.stopped = 0
	d.press("D", key.ModShortcut)
	if !d.w.Running {
		t.Fatal("not Running")
	}
	slow.ready = true
	d.frame()
	if d.w.Running || d.w.Err() != "" {
		t.Fatalf("Running = %v, error %q after the answer", d.w.Running, d.w.Err())
	}
	if got := global(t, v, "x"); got != lua.LNumber(1) {
		t.Errorf("x = %v, want 1", got)
	}
}

func TestTranscriptKeepsTheLastLines(t *testing.T) {
	var w Workspace
	for i := 0; i < MaxTranscriptLines+500; i++ {
		w.Show(fmt.Sprintf("line %d\n", i))
	}
	w.Show("partial")
	lines := w.TranscriptLines()
	if len(lines) != MaxTranscriptLines {
		t.Fatalf("%d lines kept, want %d", len(lines), MaxTranscriptLines)
	}
	if lines[len(lines)-1] != "partial" || lines[len(lines)-2] != fmt.Sprintf("line %d", MaxTranscriptLines+499) {
		t.Errorf("last lines = %q", lines[len(lines)-2:])
	}
	w.Show(" done\nnext")
	lines = w.TranscriptLines()
	if lines[len(lines)-2] != "partial done" || lines[len(lines)-1] != "next" {
		t.Errorf("last lines = %q", lines[len(lines)-2:])
	}
}

func TestTranscriptFollowsNewOutput(t *testing.T) {
	d := newDriver(t, VMEvaluator{VM: freshImage(t)})
	d.typeText(`for i = 1, 200 do print("out " .. i) end`)
	d.press("D", key.ModShortcut)
	if !d.shows("out 200") {
		t.Error("the last line of output is not on screen")
	}
	for _, n := range d.nodes() {
		if n.Desc.Label == "out 1" {
			t.Error("the first line of 200 is still on screen")
		}
	}
}

func TestInspectLinkAfterPrintIt(t *testing.T) {
	d := newDriver(t, VMEvaluator{VM: freshImage(t)})
	d.typeText("3 + 4")
	d.press("P", key.ModShortcut)
	if d.shows("Inspect result") || d.w.CanInspectLast() {
		t.Fatal("a number offers to be inspected")
	}
	d.w.Editor.SetText("Object:clone()")
	d.w.Editor.SetCaret(0, d.w.Editor.Len())
	d.press("P", key.ModShortcut)
	if e := d.w.Err(); e != "" {
		t.Fatal(e)
	}
	if d.w.Inspected != nil {
		t.Fatal("a print-it inspected by itself")
	}
	d.click(d.find("Inspect result"))
	in := d.w.Inspected
	if in == nil || in.Result.Ref == 0 || in.Source != "Object:clone()" {
		t.Fatalf("Inspected after the link: %+v", in)
	}
	// A do-it's object result has the link too.
	d.w.Inspected = nil
	d.w.Editor.SetText("Object:clone()")
	d.w.Editor.SetCaret(0, d.w.Editor.Len())
	d.press("D", key.ModShortcut)
	d.click(d.find("Inspect result"))
	if d.w.Inspected == nil || d.w.Inspected.Result.Ref == 0 {
		t.Fatal("the do-it's link did not inspect")
	}
}
