package remote

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"
)

// Server serves the protocol on listeners. Each connection has its own
// goroutine and handles its requests in order; a request that panics is
// recovered, logged and answered with CodeInternal, and the server (and the
// connection) go on. The zero value is not usable: set Backend and Token.
type Server struct {
	Backend Backend
	// Token is the secret a client must present in "initialize". It is
	// never logged. An empty Token refuses every client.
	Token string
	// Logger receives connection events and recovered panics (default
	// slog.Default()).
	Logger *slog.Logger
	// MaxFrame bounds one frame (default MaxFrame).
	MaxFrame int
	// Name is reported to clients (default "phoenix").
	Name string
	// InitTimeout is how long a new connection may take to send
	// "initialize" (default 10 s).
	InitTimeout time.Duration
	// NotifyQueue bounds the notifications queued for one slow client
	// (default 1024); beyond it they are dropped, with a warning.
	NotifyQueue int
	// Chat, if set, serves the agent's chat (chat.*): one conversation
	// per connection, whose events go to that connection only.
	Chat ChatBackend

	mu     sync.Mutex
	ctx    context.Context // of every request; cancelled by Close
	cancel context.CancelFunc
	lns    map[net.Listener]struct{}
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("remote: server closed")

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) initTimeout() time.Duration {
	if s.InitTimeout > 0 {
		return s.InitTimeout
	}
	return 10 * time.Second
}

func (s *Server) maxFrame() int {
	if s.MaxFrame > 0 {
		return s.MaxFrame
	}
	return MaxFrame
}

// Serve accepts connections on ln until Close; it returns ErrServerClosed
// then, or the listener's error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.init()
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			delete(s.lns, ln)
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		c := &conn{srv: s, nc: nc, remote: nc.RemoteAddr().String()}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// init makes the server's maps and context; s.mu is held.
func (s *Server) init() {
	if s.lns == nil {
		s.lns = map[net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
		s.ctx, s.cancel = context.WithCancel(context.Background())
	}
}

// Close stops accepting, closes every connection, cancels the requests
// in flight (a running evaluation is interrupted and rolls back) and waits
// for the handlers.
func (s *Server) Close() error {
	s.mu.Lock()
	s.init()
	s.closed = true
	s.cancel()
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// conn is one client connection.
type conn struct {
	srv    *Server
	nc     net.Conn
	remote string

	wmu      sync.Mutex // serialises frames written
	authed   bool
	rmu      sync.Mutex
	inflight map[string]*request // by id: queued or running
	qmu      sync.Mutex
	queue    []Notification // notifications not yet written
	qmax     int            // the queue's bound
	dropped  bool           // a notification was dropped (logged once)
	kick     chan struct{}  // wakes the notification writer
	done     chan struct{}  // closed when the connection ends
	log      *slog.Logger

	connCtx context.Context // the requests' and turns'; cancelled when the connection ends
	// The agent's chat (chat.go): the conversation, the running turn.
	chat       Chat
	tmu        sync.Mutex
	turn       *chatTurn
	turns      int            // turns started (worker goroutine)
	turnWG     sync.WaitGroup // running turns
	afterReply func()         // run after the current response (worker goroutine)
}

func (c *conn) serve() {
	log := c.srv.log().With("remote", c.remote)
	defer func() {
		if r := recover(); r != nil {
			log.Error("remote: connection handler panicked; connection closed, server goes on", "panic", r, "stack", string(debug.Stack()))
		}
		c.nc.Close()
		if c.done != nil {
			close(c.done)
		}
		c.srv.mu.Lock()
		delete(c.srv.conns, c)
		c.srv.mu.Unlock()
		c.srv.wg.Done()
	}()
	log.Info("remote: connection opened")
	r := bufio.NewReaderSize(c.nc, 64<<10)
	c.srv.mu.Lock()
	ctx := c.srv.ctx
	c.srv.mu.Unlock()
	// The connection's requests end with it: a client that goes away
	// interrupts its running evaluation.
	connCtx, cancelConn := context.WithCancel(ctx)
	c.connCtx = connCtx
	var reqs chan *request
	var workerDone chan struct{}
	defer func() {
		cancelConn() // stops a running chat turn too
		if reqs != nil {
			close(reqs)
			<-workerDone
		}
		c.turnWG.Wait()
	}()
	// A client has InitTimeout to authenticate; then it may stay idle.
	c.nc.SetReadDeadline(time.Now().Add(c.srv.initTimeout()))
	for {
		frame, err := readFrame(r, c.srv.maxFrame())
		if err != nil {
			if errors.Is(err, errFrameTooLong) {
				log.Warn("remote: frame over the limit; closing the connection", "limit", c.srv.maxFrame())
				c.send(&Message{ID: json.RawMessage("null"), Error: Errorf(CodeInvalidRequest, "frame exceeds the limit of %d bytes; closing the connection", c.srv.maxFrame())})
				c.linger()
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				log.Debug("remote: read failed", "err", err)
			}
			log.Info("remote: connection closed")
			return
		}
		if len(bytes.TrimSpace(frame)) == 0 {
			continue // blank lines are allowed between frames
		}
		m, err := Decode(frame)
		if err != nil {
			var de *DecodeError
			errors.As(err, &de)
			id := de.ID
			if len(id) == 0 {
				id = json.RawMessage("null")
			}
			c.send(&Message{ID: id, Error: &Error{Code: de.Code, Message: de.Msg}})
			if de.Fatal {
				log.Warn("remote: undecodable frame; closing the connection", "err", de.Msg)
				c.linger()
				return
			}
			continue
		}
		if m.IsNotification() && m.Method == NotifyCancel && c.authed {
			var p CancelParams
			if json.Unmarshal(m.Params, &p) == nil {
				c.cancelRequest(p.ID)
			}
			continue
		}
		if !m.IsRequest() {
			continue // other notifications and responses from clients mean nothing yet
		}
		if !c.authed {
			if !c.initialize(ctx, m, log) {
				c.linger()
				return
			}
			c.nc.SetReadDeadline(time.Time{})
			reqs = make(chan *request, 64)
			workerDone = make(chan struct{})
			go c.work(reqs, workerDone, log)
			continue
		}
		rctx, cancel := context.WithCancel(connCtx)
		r := &request{m: m, ctx: rctx, cancel: cancel}
		c.track(r)
		reqs <- r
	}
}

// request is a request of an authenticated client, queued or running.
type request struct {
	m      *Message
	ctx    context.Context
	cancel context.CancelFunc
}

// work handles the connection's requests in order, while serve goes on
// reading (so that a cancellation or the client's going away reaches a
// running request).
func (c *conn) work(reqs <-chan *request, done chan<- struct{}, log *slog.Logger) {
	defer close(done)
	for r := range reqs {
		c.handle(r.ctx, r.m, log)
		r.cancel()
		c.untrack(r)
	}
}

func (c *conn) track(r *request) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.inflight == nil {
		c.inflight = map[string]*request{}
	}
	c.inflight[string(r.m.ID)] = r
}

func (c *conn) untrack(r *request) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.inflight[string(r.m.ID)] == r {
		delete(c.inflight, string(r.m.ID))
	}
}

// cancelRequest cancels the request with id, queued or running: a running
// evaluation is interrupted and rolls back.
func (c *conn) cancelRequest(id json.RawMessage) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if r := c.inflight[string(bytes.TrimSpace(id))]; r != nil {
		r.cancel()
	}
}

// initialize answers the first request; false closes the connection.
func (c *conn) initialize(ctx context.Context, m *Message, log *slog.Logger) bool {
	if m.Method != MethodInitialize {
		c.reply(m, nil, Errorf(CodeNotInitialized, "the first request must be %q (with the protocol version and the token), not %q", MethodInitialize, m.Method))
		log.Warn("remote: request before initialize; closing the connection", "method", m.Method)
		return false
	}
	var p InitializeParams
	if err := decodeParams(m, &p); err != nil {
		c.reply(m, nil, err)
		return false
	}
	if p.ProtocolVersion != ProtocolVersion {
		c.reply(m, nil, Errorf(CodeVersion, "protocol version %d is not supported; this server speaks version %d", p.ProtocolVersion, ProtocolVersion))
		log.Warn("remote: unsupported protocol version; closing the connection", "version", p.ProtocolVersion)
		return false
	}
	if c.srv.Token == "" || subtle.ConstantTimeCompare([]byte(p.Token), []byte(c.srv.Token)) != 1 {
		c.reply(m, nil, Errorf(CodeUnauthorized, "wrong token"))
		log.Warn("remote: wrong token; closing the connection", "client", p.Client)
		return false
	}
	c.authed = true
	log.Info("remote: client authenticated", "client", p.Client)
	name := c.srv.Name
	if name == "" {
		name = "phoenix"
	}
	// Subscribe before answering, so that the client sees every
	// notification after its initialize; hold the writer so that none
	// comes before the answer.
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.startNotifications(log)
	c.writeLocked(c.response(m, &InitializeResult{ProtocolVersion: ProtocolVersion, Server: name, Image: c.srv.Backend.Image(), Methods: c.srv.methods()}, nil))
	return true
}

func methodNames() []string {
	return []string{MethodInitialize, MethodEval, MethodBrowse, MethodMirror, MethodSource, MethodDefine, MethodRemove, MethodInspect, MethodHistory, MethodSenders, MethodImpls, MethodCompose, MethodSnapshot, MethodSnapshots, MethodExport, MethodRestore, MethodApprovals, MethodApprove, MethodReject, MethodAlts, MethodPick, MethodRate}
}

// methods is what this server implements: methodNames, and the chat's
// methods when it has a ChatBackend.
func (s *Server) methods() []string {
	if s.Chat == nil {
		return methodNames()
	}
	return append(methodNames(), chatMethods...)
}

// startNotifications forwards the backend's notifications to the client
// through a bounded queue, so the backend never waits for a slow client.
// The queue is flushed before every response, so a client sees what an
// evaluation printed before its result.
func (c *conn) startNotifications(log *slog.Logger) {
	c.qmax = c.srv.NotifyQueue
	if c.qmax <= 0 {
		c.qmax = 1024
	}
	c.kick = make(chan struct{}, 1)
	c.done = make(chan struct{})
	c.log = log
	cancel := c.srv.Backend.Subscribe(func(note Notification) { c.notify(note, false) })
	go func() {
		defer cancel()
		for {
			select {
			case <-c.kick:
				c.wmu.Lock()
				err := c.flushLocked()
				c.wmu.Unlock()
				if err != nil {
					return
				}
			case <-c.done:
				return
			}
		}
	}()
}

// notify queues a notification for this connection only. Beyond the
// queue's bound it is dropped (logged once), unless keep is set: a chat
// turn's events but its deltas are kept, so that a slow client still
// learns that its turn is over.
func (c *conn) notify(note Notification, keep bool) {
	c.qmu.Lock()
	if len(c.queue) >= c.qmax && !keep {
		if !c.dropped {
			c.dropped = true
			c.log.Warn("remote: client too slow; dropping notifications", "queue", c.qmax)
		}
		c.qmu.Unlock()
		return
	}
	c.queue = append(c.queue, note)
	c.qmu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// flushLocked writes the queued notifications; c.wmu is held.
func (c *conn) flushLocked() error {
	c.qmu.Lock()
	q := c.queue
	c.queue = nil
	c.qmu.Unlock()
	for _, note := range q {
		if err := c.writeLocked(&Message{Method: note.Method, Params: note.Params}); err != nil {
			return err
		}
	}
	return nil
}

// handle answers one request of an authenticated client. A panic is
// recovered here: logged with its stack, answered with CodeInternal.
func (c *conn) handle(ctx context.Context, m *Message, log *slog.Logger) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("remote: request panicked; recovered, server goes on", "method", m.Method, "panic", r, "stack", string(debug.Stack()))
			c.reply(m, nil, Errorf(CodeInternal, "internal error in %s: %v", m.Method, r))
		}
	}()
	res, err := c.dispatch(ctx, m)
	c.reply(m, res, err)
	if f := c.afterReply; f != nil {
		c.afterReply = nil
		f()
	}
}

func (c *conn) dispatch(ctx context.Context, m *Message) (any, error) {
	if res, err, ok := c.dispatchChat(ctx, m); ok {
		return res, err
	}
	b := c.srv.Backend
	switch m.Method {
	case MethodInitialize:
		return nil, Errorf(CodeInvalidRequest, "already initialized")
	case MethodEval:
		var p EvalParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		return b.Eval(ctx, p)
	case MethodBrowse:
		var p PathParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		return b.Browse(ctx, p.Path)
	case MethodMirror:
		var p PathParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		return b.Mirror(ctx, p.Path)
	case MethodInspect:
		var p PathParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		return b.Inspect(ctx, p.Path)
	case MethodHistory:
		var p MethodParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		if p.Selector == "" {
			return nil, Errorf(CodeInvalidParams, "history: selector is required")
		}
		return b.History(ctx, p.Path, p.Selector)
	case MethodSenders, MethodImpls:
		var p SelectorParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		if p.Selector == "" {
			return nil, Errorf(CodeInvalidParams, "%s: selector is required", m.Method)
		}
		if m.Method == MethodSenders {
			return b.Senders(ctx, p.Selector)
		}
		return b.Implementors(ctx, p.Selector)
	case MethodCompose:
		var p ComposeParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		if p.Trait == "" {
			return nil, Errorf(CodeInvalidParams, "compose: trait is required")
		}
		return Empty{}, b.Compose(ctx, p)
	case MethodSource:
		var p MethodParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		if p.Selector == "" {
			return nil, Errorf(CodeInvalidParams, "source: selector is required")
		}
		return b.Source(ctx, p.Path, p.Selector)
	case MethodDefine:
		var p DefineParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		return b.Define(ctx, p)
	case MethodRemove:
		var p MethodParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		if p.Selector == "" {
			return nil, Errorf(CodeInvalidParams, "remove: selector is required")
		}
		return Empty{}, b.Remove(ctx, p.Path, p.Selector)
	case MethodSnapshot, MethodRestore:
		var p SnapshotParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		if m.Method == MethodRestore {
			if p.Name == "" {
				return nil, Errorf(CodeInvalidParams, "image.restore: name is required")
			}
			return b.Restore(ctx, p.Name)
		}
		return b.Snapshot(ctx, p.Name)
	case MethodSnapshots, MethodExport:
		var p Empty
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		if m.Method == MethodSnapshots {
			return b.Snapshots(ctx)
		}
		return b.Export(ctx)
	case MethodApprovals:
		var p ApprovalsParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		return b.Approvals(ctx, p.All)
	case MethodAlts:
		var p AlternativesParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		if p.ID == "" || p.N < 1 || p.N > 8 {
			return nil, Errorf(CodeInvalidParams, "%s: id is required and n must be 1 to 8", m.Method)
		}
		return b.Alternatives(ctx, p)
	case MethodPick:
		var p PickParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		if p.ID == "" || p.K < 0 {
			return nil, Errorf(CodeInvalidParams, "%s: id is required and k must not be negative", m.Method)
		}
		return b.Pick(ctx, p)
	case MethodRate:
		var p RateParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		if p.ID == "" || p.Score < 1 || p.Score > 5 {
			return nil, Errorf(CodeInvalidParams, "%s: id is required and score must be 1 to 5", m.Method)
		}
		return Empty{}, b.Rate(ctx, p)
	case MethodApprove, MethodReject:
		var p DecideParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err
		}
		if p.ID == "" {
			return nil, Errorf(CodeInvalidParams, "%s: id is required", m.Method)
		}
		if m.Method == MethodApprove {
			return b.Approve(ctx, p.ID, p.Note)
		}
		return b.Reject(ctx, p.ID, p.Note)
	}
	return nil, Errorf(CodeMethodNotFound, "method %q not found", m.Method)
}

// decodeParams decodes m's params (an object) into p.
func decodeParams(m *Message, p any) error {
	if len(m.Params) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(m.Params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return Errorf(CodeInvalidParams, "%s: invalid params: %v", m.Method, err)
	}
	return nil
}

// reply sends the response to request m.
func (c *conn) reply(m *Message, res any, err error) {
	c.send(c.response(m, res, err))
}

// response is the response to request m.
func (c *conn) response(m *Message, res any, err error) *Message {
	out := &Message{ID: m.ID}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Code: CodeFailed, Message: err.Error()}
		}
		out.Error = e
	} else {
		b, merr := json.Marshal(res)
		if merr != nil {
			out.Error = Errorf(CodeInternal, "%s: result does not encode: %v", m.Method, merr)
		} else {
			out.Result = b
		}
	}
	return out
}

// send writes m after the notifications queued before it.
func (c *conn) send(m *Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.flushLocked(); err != nil {
		return err
	}
	return c.writeLocked(m)
}

func (c *conn) writeLocked(m *Message) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	_, err = c.nc.Write(b)
	return err
}

// linger ends a connection the server gives up on so that the client
// reads the last error: it half-closes, then discards what the client is
// still sending for a moment, so that closing does not reset the
// connection (a reset can destroy the error before the client reads it).
func (c *conn) linger() {
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		return
	}
	tc.CloseWrite()
	tc.SetReadDeadline(time.Now().Add(lingerTime))
	io.Copy(io.Discard, io.LimitReader(tc, 16<<20))
}

const lingerTime = 500 * time.Millisecond

var errFrameTooLong = errors.New("frame too long")

// readFrame reads one line of at most max bytes (the newline excluded).
// A final line without a newline is a frame too.
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		n := len(buf) + len(chunk) // the frame's length so far
		if err == nil {
			n-- // without its newline
		}
		if n > max {
			return nil, errFrameTooLong
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			return buf, nil
		default:
			return nil, err
		}
	}
}
