package remote

import (
	"context"
	"encoding/json"
)

// Backend is what the server needs from an image. The wiring layer
// implements it (bootstrap.RemoteBackend runs each call on the VM's one
// goroutine, each mutation as one transaction).
//
// Errors: a *Error is sent as it is (EvalFailure for a failed evaluation,
// CodeNotFound for a path that names nothing); any other error becomes
// CodeFailed with the error's text. A Backend may be called from several
// connections at once.
type Backend interface {
	// Image is the path of the image, for InitializeResult.
	Image() string
	Eval(ctx context.Context, p EvalParams) (*EvalResult, error)
	// Browse lists the Lobby's objects (path "") or a path's children.
	Browse(ctx context.Context, path string) (*BrowseResult, error)
	Mirror(ctx context.Context, path string) (*Mirror, error)
	// Inspect snapshots any object or table (paths may be "@N" handles).
	Inspect(ctx context.Context, path string) (*Inspection, error)
	Source(ctx context.Context, path, selector string) (*SourceResult, error)
	Define(ctx context.Context, p DefineParams) (*DefineResult, error)
	// History lists the committed changes of path's own method selector.
	History(ctx context.Context, path, selector string) (*HistoryResult, error)
	// Senders and Implementors search the Lobby's objects and their traits.
	Senders(ctx context.Context, selector string) (*SendersResult, error)
	Implementors(ctx context.Context, selector string) (*BrowseResult, error)
	// Compose uses or stops using a trait, as one transaction.
	Compose(ctx context.Context, p ComposeParams) error
	Remove(ctx context.Context, path, selector string) error
	// Snapshot, Snapshots and Export are the Image menu's actions on the
	// served image (files on the server's machine).
	Snapshot(ctx context.Context, name string) (*Snapshot, error)
	Snapshots(ctx context.Context) (*SnapshotsResult, error)
	Export(ctx context.Context) (*ExportResult, error)
	Restore(ctx context.Context, name string) (*RestoreResult, error)
	Approvals(ctx context.Context, all bool) (*ApprovalsResult, error)
	Approve(ctx context.Context, id, note string) (*Approval, error)
	Reject(ctx context.Context, id, note string) (*Approval, error)
	// Alternatives, Pick and Rate are the approvals pane's preference
	// feedback (the server's agent asks its LLM for alternatives).
	Alternatives(ctx context.Context, p AlternativesParams) (*Approval, error)
	Pick(ctx context.Context, p PickParams) (*Approval, error)
	Rate(ctx context.Context, p RateParams) error
	// Subscribe registers f for every notification until cancel is
	// called. f must not block: the server queues what it gets.
	Subscribe(f func(Notification)) (cancel func())
}

// Notification is one server-to-client notification.
type Notification struct {
	Method string          `json:"method"` // NotifyTranscript, NotifyChanged or NotifyApprovals
	Params json.RawMessage `json:"params"`
}

// NewNotification encodes params for method.
func NewNotification(method string, params any) Notification {
	b, err := json.Marshal(params)
	if err != nil {
		panic("remote: notification params do not encode: " + err.Error())
	}
	return Notification{Method: method, Params: b}
}

// Transcript decodes a NotifyTranscript notification.
func (n Notification) Transcript() (TranscriptParams, bool) {
	var p TranscriptParams
	return p, n.Method == NotifyTranscript && json.Unmarshal(n.Params, &p) == nil
}

// Changed decodes a NotifyChanged notification.
func (n Notification) Changed() (ChangedParams, bool) {
	var p ChangedParams
	return p, n.Method == NotifyChanged && json.Unmarshal(n.Params, &p) == nil
}
