package vm

import (
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Error is an evaluation error: what went wrong, where, and the Lua value
// that was raised. Kind is one of "Error", "MessageNotUnderstood",
// "TraitConflict", "CompileError", "Timeout", "Interrupted", "CommitError"
// (or the name of a user-defined Error prototype).
type Error struct {
	Kind      string
	Message   string
	Traceback []Frame
	Value     lua.LValue // the raised value, when there is one

	// For MessageNotUnderstood.
	Receiver  string
	Selector  string
	Arguments []string

	// For CompileError: the chunk and 1-based line.
	Chunk string
	Line  int
	// Incomplete is set for a CompileError at the end of the input (the
	// repl asks for more lines).
	Incomplete bool

	Err error // underlying cause
}

// Frame is one level of a traceback, most recent first.
type Frame struct {
	Name string // "Account>>deposit", "eval", "Object>>clone (primitive)"
	Line int    // 1-based, relative to the method's source; 0 if unknown
}

func (f Frame) String() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", f.Name, f.Line)
	}
	return f.Name
}

func (e *Error) Error() string {
	if e.Kind == "" || e.Kind == "Error" || strings.HasPrefix(e.Message, e.Kind) {
		return e.Message
	}
	return e.Kind + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Detail renders the error with its traceback, as the CLI prints it.
func (e *Error) Detail() string {
	var sb strings.Builder
	sb.WriteString(e.Error())
	if len(e.Traceback) > 0 {
		sb.WriteString("\ntraceback:")
		for _, f := range e.Traceback {
			sb.WriteString("\n  ")
			sb.WriteString(f.String())
		}
	}
	return sb.String()
}
