package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// ProtocolVersion is the version of the method set below. A client sends
// the version it speaks in "initialize"; the server refuses another one.
// Adding a method or an optional field keeps the version; changing or
// removing one increments it.
const ProtocolVersion = 1

// MaxFrame is the default limit of one frame (one line), in bytes.
const MaxFrame = 4 << 20

// Method names. Requests carry an id and get exactly one response;
// notifications (Notify*) carry none and come from the server.
const (
	MethodInitialize = "initialize"      // InitializeParams → InitializeResult; must be first
	MethodEval       = "eval"            // EvalParams → EvalResult, or CodeEval with ErrorDetail
	MethodBrowse     = "browse"          // PathParams → BrowseResult: the Lobby's objects, or an object's children
	MethodMirror     = "mirror"          // PathParams → Mirror: prototypes, traits, slots, methods, conflicts
	MethodSource     = "source"          // MethodParams → SourceResult
	MethodDefine     = "define"          // DefineParams → DefineResult: one transaction
	MethodRemove     = "remove"          // MethodParams → Empty: one transaction
	MethodInspect    = "inspect"         // PathParams → Inspection: any object or table, with its entries
	MethodHistory    = "history"         // MethodParams → HistoryResult: a method's committed changes
	MethodSenders    = "senders"         // SelectorParams → SendersResult: methods whose parsed source sends it
	MethodImpls      = "implementors"    // SelectorParams → BrowseResult: objects and traits defining it
	MethodCompose    = "compose"         // ComposeParams → Empty: use or stop using a trait, one transaction
	MethodSnapshot   = "image.snapshot"  // SnapshotParams → Snapshot: a snapshot of the served image
	MethodSnapshots  = "image.snapshots" // Empty → SnapshotsResult
	MethodExport     = "image.export"    // Empty → ExportResult: an export file next to the image, on the server's disk
	MethodRestore    = "image.restore"   // SnapshotParams → RestoreResult: a snapshot as a new image next to it
	MethodApprovals  = "approvals.list"
	MethodApprove    = "approvals.approve"      // DecideParams → Approval: installs the method
	MethodReject     = "approvals.reject"       // DecideParams → Approval
	MethodAlts       = "approvals.alternatives" // AlternativesParams → Approval: the server's agent asks its LLM for more
	MethodPick       = "approvals.pick"         // PickParams → Approval: approves one alternative (0: the original)
	MethodRate       = "approvals.rate"         // RateParams → Empty: a person's rating, kept for later prompts

	NotifyCancel     = "$/cancelRequest" // CancelParams, from the client: stop a request (as in LSP)
	NotifyTranscript = "transcript"      // TranscriptParams: what image code printed
	NotifyChanged    = "changed"         // ChangedParams: a transaction committed
	NotifyApprovals  = "approvals"       // ApprovalsChangedParams: the pending approvals changed
)

// JSON-RPC 2.0 error codes: the standard ones, then Phoenix's (in the
// range the specification reserves for implementations).
const (
	CodeParse          = -32700 // the frame is not JSON (the connection is closed)
	CodeInvalidRequest = -32600 // not a JSON-RPC 2.0 request, or a frame over the limit
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603 // the server failed (a panic, recovered and logged)

	CodeFailed         = -32000 // the backend refused or failed (message says why)
	CodeEval           = -32001 // the evaluation failed; Data is an ErrorDetail
	CodeUnauthorized   = -32002 // wrong token (the connection is closed)
	CodeVersion        = -32003 // unsupported protocol version (the connection is closed)
	CodeNotInitialized = -32004 // a request before "initialize" (the connection is closed)
	CodeNotFound       = -32005 // no such object, method or approval
)

// Message is one frame: a request (ID and Method), a notification (Method,
// no ID) or a response (ID and Result or Error).
type Message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// IsRequest reports whether m expects a response.
func (m *Message) IsRequest() bool { return m.Method != "" && len(m.ID) > 0 }

// IsNotification reports whether m is a notification.
func (m *Message) IsNotification() bool { return m.Method != "" && len(m.ID) == 0 }

// Error is a JSON-RPC error object; it is also the Go error the client
// returns for an error response.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("remote: %s (code %d)", e.Message, e.Code)
}

// Detail decodes Data of a CodeEval error; ok is false for other errors.
func (e *Error) Detail() (d ErrorDetail, ok bool) {
	if e.Code != CodeEval || len(e.Data) == 0 {
		return d, false
	}
	return d, json.Unmarshal(e.Data, &d) == nil
}

// Errorf makes an Error with a code.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// EvalFailure is the error a Backend returns for a failed evaluation.
func EvalFailure(d ErrorDetail) *Error {
	data, _ := json.Marshal(d)
	msg := d.Message
	if d.Kind != "" {
		msg = d.Kind + ": " + msg
	}
	return &Error{Code: CodeEval, Message: msg, Data: data}
}

// DecodeError is what Decode returns. Fatal errors (CodeParse) mean the
// stream can no longer be trusted and the connection is closed; the others
// are answered and the connection goes on. ID is the request's id when it
// could be read.
type DecodeError struct {
	Code  int
	ID    json.RawMessage
	Msg   string
	Fatal bool
}

func (e *DecodeError) Error() string { return "remote: " + e.Msg }

// Decode decodes one frame (without its newline). It never panics; a frame
// that is not exactly one JSON object is a fatal CodeParse error, a JSON
// object that is not a valid JSON-RPC 2.0 message is a CodeInvalidRequest
// error carrying its id, if it had a usable one.
func Decode(frame []byte) (*Message, error) {
	dec := json.NewDecoder(bytes.NewReader(frame))
	var m Message
	if err := dec.Decode(&m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// JSON, but a member has the wrong type ("id": {}, "method": 3).
			return nil, &DecodeError{Code: CodeInvalidRequest, Msg: fmt.Sprintf("invalid request: member %q has the wrong type (%s)", te.Field, te.Value)}
		}
		return nil, &DecodeError{Code: CodeParse, Msg: "parse error: " + err.Error(), Fatal: true}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &DecodeError{Code: CodeParse, Msg: "parse error: more than one JSON value in a frame", Fatal: true}
	}
	if len(m.ID) > 0 && !validID(m.ID) {
		return nil, &DecodeError{Code: CodeInvalidRequest, Msg: "invalid request: id must be a string, a number or null"}
	}
	if bytes.Equal(m.ID, []byte("null")) {
		m.ID = nil
	}
	if bytes.Equal(m.Params, []byte("null")) {
		m.Params = nil // the same as no params
	}
	if m.JSONRPC != "2.0" {
		return nil, &DecodeError{Code: CodeInvalidRequest, ID: m.ID, Msg: fmt.Sprintf("invalid request: jsonrpc must be \"2.0\", not %q", m.JSONRPC)}
	}
	switch {
	case m.Method != "":
		if m.Result != nil || m.Error != nil {
			return nil, &DecodeError{Code: CodeInvalidRequest, ID: m.ID, Msg: "invalid request: a request cannot carry a result or an error"}
		}
		if len(m.Params) > 0 && m.Params[0] != '{' && m.Params[0] != '[' {
			return nil, &DecodeError{Code: CodeInvalidRequest, ID: m.ID, Msg: "invalid request: params must be an object or an array"}
		}
	case len(m.ID) > 0 || m.Result != nil || m.Error != nil:
		if (m.Result != nil) == (m.Error != nil) {
			return nil, &DecodeError{Code: CodeInvalidRequest, ID: m.ID, Msg: "invalid response: exactly one of result and error"}
		}
	default:
		return nil, &DecodeError{Code: CodeInvalidRequest, Msg: "invalid request: no method"}
	}
	return &m, nil
}

func validID(id json.RawMessage) bool {
	switch id[0] {
	case '"':
		var s string
		return json.Unmarshal(id, &s) == nil
	case 'n':
		return string(id) == "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var f float64
		return json.Unmarshal(id, &f) == nil
	}
	return false
}

// Encode encodes m as one frame, with its newline. encoding/json escapes
// newlines inside strings, so a frame is always one line.
func Encode(m *Message) ([]byte, error) {
	m.JSONRPC = "2.0"
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Params and results of the methods.

// InitializeParams opens a session.
type InitializeParams struct {
	ProtocolVersion int    `json:"protocolVersion"`
	Token           string `json:"token"`
	Client          string `json:"client,omitempty"` // e.g. "phoenix attach"
}

// InitializeResult describes the server.
type InitializeResult struct {
	ProtocolVersion int      `json:"protocolVersion"`
	Server          string   `json:"server"`
	Image           string   `json:"image"`   // the image's path on the server's machine
	Methods         []string `json:"methods"` // what this server implements
}

// EvalParams is one evaluation: one transaction.
type EvalParams struct {
	Code     string `json:"code"`
	Rollback bool   `json:"rollback,omitempty"` // roll back even on success (a dry run)
	Author   string `json:"author,omitempty"`   // recorded in method history (default "human")
	BudgetMS int    `json:"budgetMs,omitempty"` // at most the server's budget
	// Self, if set, is a path (see PathParams) whose value is bound to a
	// local self: Code is tried as an expression, then as statements.
	Self string `json:"self,omitempty"`
	// Ref asks for EvalResult.Ref: a path to the first value when it is
	// an object or a table (a transient one is kept on the server).
	Ref bool `json:"ref,omitempty"`
}

// EvalResult holds the printString of each returned value.
type EvalResult struct {
	Values []string `json:"values"`
	// Ref is a path to the first value ("#OID", or "@N" for a value the
	// server keeps for this purpose) when asked for and it is an object or
	// a table; else "".
	Ref string `json:"ref,omitempty"`
}

// ErrorDetail is an evaluation error as the VM reports it.
type ErrorDetail struct {
	Kind       string   `json:"kind"` // Error, MessageNotUnderstood, CompileError, Timeout, ...
	Message    string   `json:"message"`
	Detail     string   `json:"detail"` // what `phoenix eval` prints: message and traceback
	Traceback  []string `json:"traceback,omitempty"`
	Line       int      `json:"line,omitempty"`       // of a CompileError
	Incomplete bool     `json:"incomplete,omitempty"` // a CompileError at the end of the input
	Receiver   string   `json:"receiver,omitempty"`   // of a MessageNotUnderstood
	Selector   string   `json:"selector,omitempty"`
	Arguments  []string `json:"arguments,omitempty"` // their printStrings, of a MessageNotUnderstood
	// Target is the receiver or its nearest named prototype: where a
	// method for Selector would go ("" when unknown).
	Target string `json:"target,omitempty"`
}

// PathParams names an object: "" or "Lobby" is the Lobby, "Account" a
// global, "Account.owner" a slot of it, "#123" the object with OID 123,
// "@7" a transient value the server kept for an earlier EvalResult.Ref or
// Inspection entry (inspect and eval's self only; the server keeps a
// bounded number, the oldest forgotten first).
type PathParams struct {
	Path string `json:"path"`
}

// MethodParams names a method of an object.
type MethodParams struct {
	Path     string `json:"path"`
	Selector string `json:"selector"`
}

// ObjectRef is an object as a list shows it.
type ObjectRef struct {
	OID   uint64 `json:"oid"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`            // "object", "trait", "table"
	Proto string `json:"proto,omitempty"` // display name of the prototype
	Slot  string `json:"slot,omitempty"`  // in browse of a path: the slot holding it
}

// BrowseResult lists objects: the Lobby's globals, sorted by name, or the
// objects held by a path's data slots, sorted by slot.
type BrowseResult struct {
	Objects []ObjectRef `json:"objects"`
}

// Mirror is a snapshot of one object, taken through a mirror.
type Mirror struct {
	Ref       ObjectRef   `json:"ref"`
	Chain     []ObjectRef `json:"chain"`               // prototypes, nearest first
	Traits    []ObjectRef `json:"traits"`              // in composition order
	Slots     []SlotValue `json:"slots"`               // own data slots, sorted by name
	Methods   []string    `json:"methods"`             // own methods, sorted
	Sources   []string    `json:"sources,omitempty"`   // their sources, in the order of Methods
	Inherited []string    `json:"inherited,omitempty"` // every selector it responds to
	Conflicts []Conflict  `json:"conflicts,omitempty"`
}

// SlotValue is one data slot and its value's printString.
type SlotValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Conflict is a selector that several traits provide.
type Conflict struct {
	Selector string   `json:"selector"`
	Traits   []string `json:"traits"`
}

// Inspection is a snapshot of any object or table, as an inspector shows
// it: an object's data slots (not its methods), a table's items; numeric
// keys first, in order, then the others by name.
type Inspection struct {
	Ref         string  `json:"ref"`  // the path it was asked by, "#OID" when persistent
	Kind        string  `json:"kind"` // "object", "trait", "table", or a Lua type name
	PrintString string  `json:"printString"`
	Proto       string  `json:"proto,omitempty"`     // path of the prototype
	ProtoName   string  `json:"protoName,omitempty"` // its display name
	Entries     []Entry `json:"entries"`
}

// Entry is one slot or item of an Inspection; Ref is a path to its value
// when that is an object or a table.
type Entry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Ref   string `json:"ref,omitempty"`
}

// SourceResult is a method's source and where it was found.
type SourceResult struct {
	Source      string `json:"source"`
	Implementor string `json:"implementor"` // the object or trait that has it
}

// DefineParams defines (or redefines) a method as one transaction.
type DefineParams struct {
	Path     string `json:"path"`
	Selector string `json:"selector,omitempty"` // "" takes it from the source's header
	Source   string `json:"source"`
	Author   string `json:"author,omitempty"`
}

// DefineResult names the method defined.
type DefineResult struct {
	Selector string `json:"selector"`
}

// HistoryResult lists a method's committed changes, oldest first.
type HistoryResult struct {
	Changes []Change `json:"changes"`
}

// Change is one committed change of a method ("" old: it was defined,
// "" new: it was removed).
type Change struct {
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Note   string    `json:"note,omitempty"`
	Old    string    `json:"old"`
	New    string    `json:"new"`
}

// SelectorParams names a selector.
type SelectorParams struct {
	Selector string `json:"selector"`
}

// SendersResult lists methods (of the Lobby's objects and their traits)
// whose parsed source sends a selector, sorted by object and selector.
type SendersResult struct {
	Methods []MethodAt `json:"methods"`
}

// MethodAt is one method of one object.
type MethodAt struct {
	Object   ObjectRef `json:"object"`
	Selector string    `json:"selector"`
}

// ComposeParams adds the global trait Trait to path's composition (Use),
// or removes it; the other traits keep their exclusions and aliases.
type ComposeParams struct {
	Path  string `json:"path"`
	Trait string `json:"trait"`
	Use   bool   `json:"use"`
}

// SnapshotParams names a new snapshot ("" names it by the server's time,
// e.g. 2026-11-25T23-05-01).
type SnapshotParams struct {
	Name string `json:"name,omitempty"`
}

// Snapshot is one snapshot of the served image.
type Snapshot struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Size    int64     `json:"size"`
}

// SnapshotsResult lists the served image's snapshots, oldest first.
type SnapshotsResult struct {
	Snapshots []Snapshot `json:"snapshots"`
}

// ExportResult says where the server wrote the export (NAME.phx next to
// the image, on the server's machine) and what it holds.
type ExportResult struct {
	Path    string `json:"path"`
	Records int64  `json:"records"`
	Bytes   int64  `json:"bytes"`
}

// RestoreResult says where the server restored a snapshot as a new image
// (NAME-SNAPSHOT.image next to the served one, which stays as it is).
type RestoreResult struct {
	Path string `json:"path"`
}

// Empty is the result of methods that return nothing.
type Empty struct{}

// ApprovalsParams selects approvals: the pending ones, or All.
type ApprovalsParams struct {
	All bool `json:"all,omitempty"`
}

// ApprovalsResult lists approvals, oldest first.
type ApprovalsResult struct {
	Approvals []Approval `json:"approvals"`
}

// Approval is one entry of the image's approval queue.
type Approval struct {
	ID        string          `json:"id"`
	Status    string          `json:"status"` // pending, approved, rejected, expired
	Object    string          `json:"object,omitempty"`
	Selector  string          `json:"selector,omitempty"`
	Created   time.Time       `json:"created"`
	DecidedBy string          `json:"decidedBy,omitempty"`
	Note      string          `json:"note,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"` // the proposal: source, tests, sandbox result, reasoning
}

// DecideParams approves or rejects one approval.
type DecideParams struct {
	ID   string `json:"id"`
	Note string `json:"note,omitempty"`
}

// AlternativesParams asks for N more alternatives to the pending
// approval ID (1 to 8); the answer's Data holds all of them.
type AlternativesParams struct {
	ID string `json:"id"`
	N  int    `json:"n"`
}

// PickParams approves the pending approval ID with its alternative K
// (0: the original proposal).
type PickParams struct {
	ID   string `json:"id"`
	K    int    `json:"k"`
	Note string `json:"note,omitempty"`
}

// RateParams rates the proposal of approval ID (1 to 5).
type RateParams struct {
	ID      string `json:"id"`
	Score   int    `json:"score"`
	Comment string `json:"comment,omitempty"`
}

// CancelParams names the request a client no longer waits for. A running
// evaluation is interrupted (and rolls back); its response still comes,
// as an Interrupted evaluation error.
type CancelParams struct {
	ID json.RawMessage `json:"id"`
}

// TranscriptParams is text image code printed (print, Transcript).
type TranscriptParams struct {
	Text string `json:"text"`
}

// ChangedParams says what one committed transaction wrote.
type ChangedParams struct {
	Objects []uint64    `json:"objects"`           // OIDs of the records written
	Methods []MethodRef `json:"methods,omitempty"` // methods defined, changed or removed
}

// ApprovalsChangedParams says that the image's pending approvals changed
// without a commit (the server's agent queued a proposal while an
// evaluation failed): how many wait now.
type ApprovalsChangedParams struct {
	Pending int `json:"pending"`
}

// MethodRef names a method by its owner's OID.
type MethodRef struct {
	Owner    uint64 `json:"owner"`
	Selector string `json:"selector"`
	Author   string `json:"author,omitempty"`
}
