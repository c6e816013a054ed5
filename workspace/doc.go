// Package workspace is Phoenix's playground, after Pharo's: a code editor
// over a running image where any text can be evaluated in place. Do it
// (Ctrl-D) runs the selection, or the line under the caret when nothing is
// selected; Print it (Ctrl-P) also inserts the result's printString after
// what was evaluated and selects it, so Backspace removes it again;
// Inspect it (Ctrl-I) records the result for the GUI to open an inspector
// on. Errors show in red under the editor with their traceback folded, and
// print output appears in the Transcript pane below. Later the chat and
// approvals panes of the agent join it.
//
// Start reading at Evaluator (evaluator.go), the boundary between the
// widgets and the VM, and Workspace (workspace.go), the state struct whose
// Layout draws the editor, the result line and the Transcript. As in
// browser, all state lives in plain structs; tests drive a Workspace with
// an input.Router and read its state back.
//
// The VM is not safe for concurrent use and the UI must never block, so a
// Workspace never touches a *vm.VM: it asks an Evaluator, whose answers are
// plain snapshots (EvalResult). An asynchronous Evaluator returns
// browser.ErrPending until the answer arrives; meanwhile the workspace is
// Running and its Stop button calls the Evaluator's Stop, if it has one.
// VMEvaluator is the synchronous implementation used by tests.
//
// The notifier (notifier.go) and the approvals pane (approvals.go) join
// the agent to the desktop. NotifierHook is the vm.NotUnderstood the GUI
// installs around the agent's Resolver: during a workspace evaluation (a
// context marked by Interactive, as VMEvaluator's are) it posts a Notice to
// the Notifier and blocks the VM's goroutine, never the UI's, until the
// person chooses "Ask the agent", "Implement it myself" (the evaluation
// fails and TakeImplementRequest hands the window a method skeleton for
// the browser's editor) or "Abandon"; Stop or the budget dismisses it.
// Approvals shows the proposal the agent asks about (its Approver blocks
// the same way) and the image's queue of pending approvals through the
// ApprovalQueue boundary (AsyncQueue runs agent.ApproveQueued on the VM's
// goroutine). Under each proposal, "Show alternatives" lists the agent's
// alternatives with diffs and sandbox results, each with Pick, and a
// rating row (Rate 1..5, a comment) keeps the person's preferences
// (alternatives.go; PreferenceQueue for the queue, agent.Chooser for the
// live proposal).
//
// workspace may import vm, browser, agent (and agent/memory), image, sandbox, gioui.org and
// the standard library (bootstrap and agent/llmtest only in tests).
package workspace
