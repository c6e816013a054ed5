package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Name tells the server who is calling ("phoenix attach").
	Name string
	// Notify receives the server's notifications, in order, on the
	// client's reader goroutine; it must not block for long (and must not
	// call the client).
	Notify func(Notification)
	// MaxFrame bounds a frame from the server (default MaxFrame).
	MaxFrame int
}

// Client is a connection to a Phoenix server. It is safe for concurrent
// use; calls may be in flight at once (the server answers them in order).
type Client struct {
	nc     net.Conn
	opts   ClientOptions
	Server InitializeResult // what the server said in "initialize"

	wmu     sync.Mutex
	mu      sync.Mutex
	nextID  int64
	pending map[string]chan *Message
	err     error // why the connection ended
	done    chan struct{}
}

// Dial connects to addr and initializes the session with token. A wrong
// token comes back as a *Error with CodeUnauthorized.
func Dial(ctx context.Context, addr, token string, opts ClientOptions) (*Client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return NewClient(ctx, nc, token, opts)
}

// NewClient initializes a session over an open connection.
func NewClient(ctx context.Context, nc net.Conn, token string, opts ClientOptions) (*Client, error) {
	c := &Client{nc: nc, opts: opts, pending: map[string]chan *Message{}, done: make(chan struct{})}
	go c.read()
	if err := c.Call(ctx, MethodInitialize, InitializeParams{ProtocolVersion: ProtocolVersion, Token: token, Client: opts.Name}, &c.Server); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the connection; calls in flight fail.
func (c *Client) Close() error {
	err := c.nc.Close()
	<-c.done
	return err
}

// Done is closed when the connection has ended; Err says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is open).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Client) read() {
	max := c.opts.MaxFrame
	if max <= 0 {
		max = MaxFrame
	}
	r := bufio.NewReaderSize(c.nc, 64<<10)
	var err error
	for {
		var frame []byte
		frame, err = readFrame(r, max)
		if err != nil {
			break
		}
		m, derr := Decode(frame)
		if derr != nil {
			var de *DecodeError
			if errors.As(derr, &de) && de.Fatal {
				err = fmt.Errorf("remote: the server sent an undecodable frame: %w", derr)
				break
			}
			continue
		}
		if m.IsNotification() {
			if c.opts.Notify != nil {
				c.opts.Notify(Notification{Method: m.Method, Params: m.Params})
			}
			continue
		}
		if m.Method != "" {
			continue // the server does not call clients
		}
		c.mu.Lock()
		ch := c.pending[string(m.ID)]
		delete(c.pending, string(m.ID))
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		} else if m.Error != nil && string(m.ID) == "" {
			// An error about no request in particular (a frame the
			// server could not read): the server closes next.
			err = m.Error
		}
	}
	c.nc.Close()
	c.mu.Lock()
	if c.err == nil {
		c.err = fmt.Errorf("remote: connection closed: %w", err)
	}
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	close(c.done)
}

// Call sends a request and decodes its result into result (if not nil).
// An error response is returned as a *Error. When ctx ends first, Call
// tells the server to cancel the request (a running evaluation is
// interrupted and rolls back) and returns ctx's error.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("remote: %s: params do not encode: %w", method, err)
	}
	ch := make(chan *Message, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.nextID++
	id := strconv.FormatInt(c.nextID, 10)
	c.pending[id] = ch
	c.mu.Unlock()
	b, err := Encode(&Message{ID: json.RawMessage(id), Method: method, Params: raw})
	if err != nil {
		return err
	}
	c.wmu.Lock()
	_, err = c.nc.Write(b)
	c.wmu.Unlock()
	if err != nil {
		c.forget(id)
		return fmt.Errorf("remote: %s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return c.Err()
		}
		if m.Error != nil {
			return m.Error
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				return fmt.Errorf("remote: %s: result does not decode: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		c.forget(id)
		c.notify(NotifyCancel, CancelParams{ID: json.RawMessage(id)})
		return ctx.Err()
	}
}

// notify sends a notification; errors are the connection's (Err).
func (c *Client) notify(method string, params any) {
	raw, err := json.Marshal(params)
	if err != nil {
		return
	}
	b, err := Encode(&Message{Method: method, Params: raw})
	if err != nil {
		return
	}
	c.wmu.Lock()
	c.nc.Write(b)
	c.wmu.Unlock()
}

func (c *Client) forget(id string) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// Eval evaluates code as one transaction on the server. A failed
// evaluation is a *Error with CodeEval; its Detail has the VM's report.
func (c *Client) Eval(ctx context.Context, code string) (*EvalResult, error) {
	var r EvalResult
	return &r, c.Call(ctx, MethodEval, EvalParams{Code: code}, &r)
}

// EvalWith evaluates p (Self, Ref, Rollback, ...) as one transaction.
func (c *Client) EvalWith(ctx context.Context, p EvalParams) (*EvalResult, error) {
	var r EvalResult
	return &r, c.Call(ctx, MethodEval, p, &r)
}

// Inspect snapshots the object or table at path.
func (c *Client) Inspect(ctx context.Context, path string) (*Inspection, error) {
	var r Inspection
	return &r, c.Call(ctx, MethodInspect, PathParams{Path: path}, &r)
}

// History lists the committed changes of path's own method selector.
func (c *Client) History(ctx context.Context, path, selector string) (*HistoryResult, error) {
	var r HistoryResult
	return &r, c.Call(ctx, MethodHistory, MethodParams{Path: path, Selector: selector}, &r)
}

// Senders lists the methods whose source sends selector.
func (c *Client) Senders(ctx context.Context, selector string) (*SendersResult, error) {
	var r SendersResult
	return &r, c.Call(ctx, MethodSenders, SelectorParams{Selector: selector}, &r)
}

// Implementors lists the objects and traits that define selector.
func (c *Client) Implementors(ctx context.Context, selector string) (*BrowseResult, error) {
	var r BrowseResult
	return &r, c.Call(ctx, MethodImpls, SelectorParams{Selector: selector}, &r)
}

// Compose makes path use the global trait (use), or stop using it.
func (c *Client) Compose(ctx context.Context, path, trait string, use bool) error {
	return c.Call(ctx, MethodCompose, ComposeParams{Path: path, Trait: trait, Use: use}, nil)
}

// Snapshot takes a snapshot of the served image ("" names it by the time).
func (c *Client) Snapshot(ctx context.Context, name string) (*Snapshot, error) {
	var r Snapshot
	return &r, c.Call(ctx, MethodSnapshot, SnapshotParams{Name: name}, &r)
}

// Snapshots lists the served image's snapshots.
func (c *Client) Snapshots(ctx context.Context) (*SnapshotsResult, error) {
	var r SnapshotsResult
	return &r, c.Call(ctx, MethodSnapshots, Empty{}, &r)
}

// Export writes an export of the served image next to it, on the server.
func (c *Client) Export(ctx context.Context) (*ExportResult, error) {
	var r ExportResult
	return &r, c.Call(ctx, MethodExport, Empty{}, &r)
}

// Restore restores snapshot name as a new image next to the served one.
func (c *Client) Restore(ctx context.Context, name string) (*RestoreResult, error) {
	var r RestoreResult
	return &r, c.Call(ctx, MethodRestore, SnapshotParams{Name: name}, &r)
}

// Alternatives asks the server's agent for n more alternatives to the
// pending approval id.
func (c *Client) Alternatives(ctx context.Context, id string, n int) (*Approval, error) {
	var r Approval
	return &r, c.Call(ctx, MethodAlts, AlternativesParams{ID: id, N: n}, &r)
}

// Pick approves the pending approval id with its alternative k.
func (c *Client) Pick(ctx context.Context, id string, k int, note string) (*Approval, error) {
	var r Approval
	return &r, c.Call(ctx, MethodPick, PickParams{ID: id, K: k, Note: note}, &r)
}

// Rate rates the proposal of approval id (1 to 5).
func (c *Client) Rate(ctx context.Context, id string, score int, comment string) error {
	return c.Call(ctx, MethodRate, RateParams{ID: id, Score: score, Comment: comment}, nil)
}

// Browse lists the Lobby's objects (path "") or the objects a path holds.
func (c *Client) Browse(ctx context.Context, path string) (*BrowseResult, error) {
	var r BrowseResult
	return &r, c.Call(ctx, MethodBrowse, PathParams{Path: path}, &r)
}

// Mirror describes the object at path.
func (c *Client) Mirror(ctx context.Context, path string) (*Mirror, error) {
	var r Mirror
	return &r, c.Call(ctx, MethodMirror, PathParams{Path: path}, &r)
}

// Source returns the source of the method selector as path sees it.
func (c *Client) Source(ctx context.Context, path, selector string) (*SourceResult, error) {
	var r SourceResult
	return &r, c.Call(ctx, MethodSource, MethodParams{Path: path, Selector: selector}, &r)
}

// Define defines (or redefines) a method of path as one transaction.
func (c *Client) Define(ctx context.Context, path, selector, source string) (*DefineResult, error) {
	var r DefineResult
	return &r, c.Call(ctx, MethodDefine, DefineParams{Path: path, Selector: selector, Source: source}, &r)
}

// Remove removes path's own method selector as one transaction.
func (c *Client) Remove(ctx context.Context, path, selector string) error {
	return c.Call(ctx, MethodRemove, MethodParams{Path: path, Selector: selector}, nil)
}

// Approvals lists the pending approvals (all of them with all).
func (c *Client) Approvals(ctx context.Context, all bool) (*ApprovalsResult, error) {
	var r ApprovalsResult
	return &r, c.Call(ctx, MethodApprovals, ApprovalsParams{All: all}, &r)
}

// Approve approves a pending proposal, which installs its method.
func (c *Client) Approve(ctx context.Context, id, note string) (*Approval, error) {
	var r Approval
	return &r, c.Call(ctx, MethodApprove, DecideParams{ID: id, Note: note}, &r)
}

// Reject rejects a pending proposal.
func (c *Client) Reject(ctx context.Context, id, note string) (*Approval, error) {
	var r Approval
	return &r, c.Call(ctx, MethodReject, DecideParams{ID: id, Note: note}, &r)
}
