package remote_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

const testToken = "s3cret-token-for-tests"

// fixture is a real image on disk served on loopback.
type fixture struct {
	s       *bootstrap.Session
	backend *bootstrap.RemoteBackend
	srv     *remote.Server
	addr    string
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type options struct {
	wrap        func(remote.Backend) remote.Backend
	maxFrame    int
	initTimeout time.Duration
	setup       func(v *vm.VM)
	chat        remote.ChatBackend
	notifyQueue int
}

func serve(t testing.TB, o options) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var be *bootstrap.RemoteBackend
	var mu sync.Mutex
	s, err := bootstrap.Open(ctx, filepath.Join(t.TempDir(), "t.image"), bootstrap.Options{
		Create: true, Logger: logger,
		OnCommit: func(b *vm.Batch) {
			mu.Lock()
			cur := be
			mu.Unlock()
			if cur != nil {
				cur.Committed(b)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.VM.Eval(ctx, `Account = Object:clone(); Account.balance = 10
		Account.owner = Object:clone(); Account.owner.name = "ada"
		function Account:deposit(n) self.balance = self.balance + n; return self.balance end`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	if o.setup != nil {
		o.setup(s.VM)
	}
	f.s = s
	mu.Lock()
	be = bootstrap.NewRemoteBackend(s, bootstrap.RemoteOptions{Decider: decider{}, Logger: logger})
	f.backend = be
	mu.Unlock()
	var backend remote.Backend = be
	if o.wrap != nil {
		backend = o.wrap(be)
	}
	f.srv = &remote.Server{Backend: backend, Token: testToken, Logger: logger, MaxFrame: o.maxFrame, InitTimeout: o.initTimeout, Chat: o.chat, NotifyQueue: o.notifyQueue}
	ln, err := remote.Listen(ctx, "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	go f.srv.Serve(ln)
	t.Cleanup(func() {
		f.srv.Close()
		be.Close()
		s.Close()
	})
	return f
}

type decider struct{}

func (decider) Approve(ctx context.Context, v *vm.VM, im *image.Image, id, by, note string) (*image.Approval, error) {
	return agent.ApproveQueued(ctx, v, im, id, by, note)
}

func (decider) Reject(im *image.Image, id, by, note string) (*image.Approval, error) {
	return agent.RejectQueued(im, id, by, note)
}

func (f *fixture) dial(t testing.TB, notify func(remote.Notification)) *remote.Client {
	t.Helper()
	c, err := remote.Dial(context.Background(), f.addr, testToken, remote.ClientOptions{Name: "test", Notify: notify})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func evalErr(t *testing.T, err error) remote.ErrorDetail {
	t.Helper()
	var re *remote.Error
	if !errors.As(err, &re) {
		t.Fatalf("want a *remote.Error, got %v", err)
	}
	d, ok := re.Detail()
	if !ok {
		t.Fatalf("want an evaluation error, got %v", re)
	}
	return d
}

func code(err error) int {
	var re *remote.Error
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}

func TestInitializeDescribesServer(t *testing.T) {
	f := serve(t, options{})
	c := f.dial(t, nil)
	if c.Server.ProtocolVersion != remote.ProtocolVersion || c.Server.Server != "phoenix" || c.Server.Image != f.s.Path {
		t.Fatalf("initialize: %+v", c.Server)
	}
	if !strings.Contains(strings.Join(c.Server.Methods, " "), "approvals.approve") {
		t.Fatalf("methods: %v", c.Server.Methods)
	}
}

func TestEvalCommitsAndReportsErrors(t *testing.T) {
	f := serve(t, options{})
	c := f.dial(t, nil)
	ctx := context.Background()
	res, err := c.Eval(ctx, "Account:deposit(5)")
	if err != nil || len(res.Values) != 1 || res.Values[0] != "15" {
		t.Fatalf("eval: %v %v", res, err)
	}
	res, err = c.Eval(ctx, "Account.balance, 'two'")
	if err != nil || strings.Join(res.Values, "|") != "15|two" {
		t.Fatalf("eval committed: %v %v", res, err)
	}
	// A failed evaluation rolls back and reports like phoenix eval.
	_, err = c.Eval(ctx, "Account.balance = 99; Account:withdraw(3)")
	d := evalErr(t, err)
	if d.Kind != "MessageNotUnderstood" || d.Selector != "withdraw" || !strings.Contains(d.Detail, "traceback:") || len(d.Traceback) == 0 {
		t.Fatalf("detail: %+v", d)
	}
	if res, _ := c.Eval(ctx, "Account.balance"); res.Values[0] != "15" {
		t.Fatalf("failed eval was not rolled back: %v", res.Values)
	}
	_, err = c.Eval(ctx, "function Account:x()\n  return 1")
	if d := evalErr(t, err); d.Kind != "CompileError" || !d.Incomplete {
		t.Fatalf("incomplete input: %+v", d)
	}
	// A dry run rolls back even on success.
	if err := c.Call(ctx, remote.MethodEval, remote.EvalParams{Code: "Account.balance = 1", Rollback: true}, nil); err != nil {
		t.Fatal(err)
	}
	if res, _ := c.Eval(ctx, "Account.balance"); res.Values[0] != "15" {
		t.Fatalf("dry run committed: %v", res.Values)
	}
	// And the image on disk has the committed state.
	f.srv.Close()
	f.backend.Close()
	if res, err := f.s.VM.Eval(ctx, "Account.balance", vm.EvalOptions{Print: true}); err != nil || res.Strings[0] != "15" {
		t.Fatalf("after serving: %v %v", res, err)
	}
}

func TestBrowseMirrorAndSource(t *testing.T) {
	f := serve(t, options{})
	c := f.dial(t, nil)
	ctx := context.Background()
	b, err := c.Browse(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]remote.ObjectRef{}
	for _, o := range b.Objects {
		names[o.Name] = o
	}
	if names["Account"].Kind != "object" || names["Account"].Proto != "Object" || names["TestCase"].Kind != "trait" {
		t.Fatalf("browse: %+v", b.Objects)
	}
	kids, err := c.Browse(ctx, "Account")
	if err != nil || len(kids.Objects) != 1 || kids.Objects[0].Slot != "owner" || kids.Objects[0].Name != "Account.owner" {
		t.Fatalf("children: %+v %v", kids, err)
	}
	m, err := c.Mirror(ctx, "Account")
	if err != nil {
		t.Fatal(err)
	}
	if m.Ref.Name != "Account" || len(m.Chain) != 1 || m.Chain[0].Name != "Object" || strings.Join(m.Methods, ",") != "deposit" ||
		len(m.Sources) != 1 || !strings.HasPrefix(m.Sources[0], "function Account:deposit(n)") {
		t.Fatalf("mirror: %+v", m)
	}
	slots := map[string]string{}
	for _, s := range m.Slots {
		slots[s.Name] = s.Value
	}
	if slots["balance"] != "10" || !strings.Contains(slots["owner"], "Object") {
		t.Fatalf("slots: %+v", m.Slots)
	}
	if !strings.Contains(strings.Join(m.Inherited, ","), "clone") {
		t.Fatalf("inherited: %v", m.Inherited)
	}
	owner, err := c.Mirror(ctx, "Account.owner")
	if err != nil || len(owner.Slots) != 1 || owner.Slots[0].Value != "ada" {
		t.Fatalf("path mirror: %+v %v", owner, err)
	}
	byOID, err := c.Mirror(ctx, "#"+jsonNumber(m.Ref.OID))
	if err != nil || byOID.Ref.OID != m.Ref.OID {
		t.Fatalf("mirror by OID: %+v %v", byOID, err)
	}
	if _, err := c.Mirror(ctx, "Nobody.home"); code(err) != remote.CodeNotFound || !strings.Contains(err.Error(), "Nobody") {
		t.Fatalf("unknown path: %v", err)
	}
	src, err := c.Source(ctx, "Account", "deposit")
	if err != nil || !strings.Contains(src.Source, "function Account:deposit(n)") || src.Implementor != "Account" {
		t.Fatalf("source: %+v %v", src, err)
	}
	// A clone finds its prototype's method.
	if _, err := c.Eval(ctx, "Savings = Account:clone()"); err != nil {
		t.Fatal(err)
	}
	src, err = c.Source(ctx, "Savings", "deposit")
	if err != nil || src.Implementor != "Account" {
		t.Fatalf("inherited source: %+v %v", src, err)
	}
	if _, err := c.Source(ctx, "Account", "fly"); code(err) != remote.CodeNotFound {
		t.Fatalf("missing source: %v", err)
	}
}

func jsonNumber(n uint64) string { b, _ := json.Marshal(n); return string(b) }

func TestDefineAndRemoveAreTransactions(t *testing.T) {
	f := serve(t, options{})
	c := f.dial(t, nil)
	ctx := context.Background()
	d, err := c.Define(ctx, "Account", "", "function Account:double() return self.balance * 2 end")
	if err != nil || d.Selector != "double" {
		t.Fatalf("define: %+v %v", d, err)
	}
	if res, err := c.Eval(ctx, "Account:double()"); err != nil || res.Values[0] != "20" {
		t.Fatalf("defined method: %v %v", res, err)
	}
	_, err = c.Define(ctx, "Account", "", "function Account:broken()\n  return 1 +\nend")
	if dt := evalErr(t, err); dt.Kind != "CompileError" || dt.Line != 3 {
		t.Fatalf("compile error: %+v", dt)
	}
	if err := c.Remove(ctx, "Account", "double"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Eval(ctx, "Account:double()"); evalErr(t, err).Kind != "MessageNotUnderstood" {
		t.Fatalf("removed method still answers: %v", err)
	}
	if err := c.Remove(ctx, "Account", "double"); code(err) != remote.CodeNotFound {
		t.Fatalf("removing a missing method: %v", err)
	}
	// History records both changes.
	res, err := c.Eval(ctx, "#reflect(Account):history('double')")
	if err != nil || res.Values[0] != "2" {
		t.Fatalf("history: %v %v", res, err)
	}
}

func TestApprovalsListApproveReject(t *testing.T) {
	f := serve(t, options{})
	c := f.dial(t, nil)
	ctx := context.Background()
	rec, _ := json.Marshal(agent.ProposalRecord{Proposal: agent.Proposal{Target: "Account", Selector: "triple",
		Source: "function Account:triple() return self.balance * 3 end"}, Decision: "core object"})
	for _, sel := range []string{"triple", "other"} {
		if _, err := f.s.Image.PutApproval(&image.Approval{Object: "Account", Selector: sel, Data: rec}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := c.Approvals(ctx, false)
	if err != nil || len(list.Approvals) != 2 || list.Approvals[0].Selector != "triple" || list.Approvals[0].Status != "pending" {
		t.Fatalf("list: %+v %v", list, err)
	}
	a, err := c.Approve(ctx, list.Approvals[0].ID, "looks right")
	if err != nil || a.Status != "approved" {
		t.Fatalf("approve: %+v %v", a, err)
	}
	if res, err := c.Eval(ctx, "Account:triple()"); err != nil || res.Values[0] != "30" {
		t.Fatalf("approved method: %v %v", res, err)
	}
	a, err = c.Reject(ctx, list.Approvals[1].ID, "no")
	if err != nil || a.Status != "rejected" {
		t.Fatalf("reject: %+v %v", a, err)
	}
	if list, _ := c.Approvals(ctx, false); len(list.Approvals) != 0 {
		t.Fatalf("still pending: %+v", list)
	}
	if list, _ := c.Approvals(ctx, true); len(list.Approvals) != 2 {
		t.Fatalf("all: %+v", list)
	}
	if _, err := c.Approve(ctx, "a999", ""); code(err) != remote.CodeNotFound {
		t.Fatalf("unknown approval: %v", err)
	}
}

func TestNotificationsReachEveryClient(t *testing.T) {
	f := serve(t, options{})
	var mu sync.Mutex
	var got []remote.Notification
	seen := make(chan struct{}, 100)
	f.dial(t, func(n remote.Notification) { // a client that only watches
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
		seen <- struct{}{}
	})
	var own []string
	actor := f.dial(t, func(n remote.Notification) {
		if tr, ok := n.Transcript(); ok {
			own = append(own, tr.Text) // on the reader goroutine, before the response
		}
	})
	ctx := context.Background()
	if _, err := actor.Eval(ctx, `print("hello from", 42); Account.balance = 11`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(own, "") != "hello from\t42\n" {
		t.Fatalf("the evaluating client's transcript before its result: %q", own)
	}
	if _, err := actor.Define(ctx, "Account", "", "function Account:half() return self.balance / 2 end"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		mu.Lock()
		var transcript string
		var changedAccount, changedMethod bool
		for _, n := range got {
			if tr, ok := n.Transcript(); ok {
				transcript += tr.Text
			}
			if ch, ok := n.Changed(); ok {
				changedAccount = changedAccount || len(ch.Objects) > 0
				for _, m := range ch.Methods {
					changedMethod = changedMethod || m.Selector == "half"
				}
			}
		}
		mu.Unlock()
		if transcript == "hello from\t42\n" && changedAccount && changedMethod {
			return
		}
		select {
		case <-seen:
		case <-deadline:
			t.Fatalf("notifications: transcript %q, changed %v, method %v (%d notifications)", transcript, changedAccount, changedMethod, len(got))
		}
	}
}

// rawConn speaks the protocol by hand.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func (f *fixture) raw(t *testing.T) *rawConn {
	nc, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, nc: nc, r: bufio.NewReaderSize(nc, 1<<20)}
}

func (r *rawConn) send(line string) {
	r.t.Helper()
	if _, err := io.WriteString(r.nc, line+"\n"); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) recv() *remote.Message {
	r.t.Helper()
	line, err := r.r.ReadBytes('\n')
	if err != nil {
		r.t.Fatalf("reading a response: %v", err)
	}
	var m remote.Message
	if err := json.Unmarshal(line, &m); err != nil {
		r.t.Fatalf("response %q: %v", line, err)
	}
	return &m
}

func (r *rawConn) init() {
	r.t.Helper()
	r.send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1,"token":"` + testToken + `"}}`)
	if m := r.recv(); m.Error != nil {
		r.t.Fatalf("initialize: %v", m.Error)
	}
}

// closed asserts that the server closed the connection.
func (r *rawConn) closed() {
	r.t.Helper()
	if b, err := r.r.ReadByte(); err == nil {
		r.t.Fatalf("connection still open (read %q)", b)
	}
}

func TestWrongTokenRefusedAndClosed(t *testing.T) {
	f := serve(t, options{})
	_, err := remote.Dial(context.Background(), f.addr, "wrong", remote.ClientOptions{})
	if code(err) != remote.CodeUnauthorized {
		t.Fatalf("wrong token: %v", err)
	}
	r := f.raw(t)
	r.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1,"token":"s3cret-token-for-testX"}}`)
	if m := r.recv(); m.Error == nil || m.Error.Code != remote.CodeUnauthorized || string(m.ID) != "1" {
		t.Fatalf("wrong token: %+v", m)
	}
	r.closed()
	if strings.Contains(f.logs.String(), testToken) || strings.Contains(f.logs.String(), "token-for-testX") {
		t.Fatal("a token was logged")
	}
	// Requests before initialize, and another protocol version, are refused too.
	r = f.raw(t)
	r.send(`{"jsonrpc":"2.0","id":2,"method":"eval","params":{"code":"1"}}`)
	if m := r.recv(); m.Error == nil || m.Error.Code != remote.CodeNotInitialized {
		t.Fatalf("eval before initialize: %+v", m)
	}
	r.closed()
	r = f.raw(t)
	r.send(`{"jsonrpc":"2.0","id":3,"method":"initialize","params":{"protocolVersion":99,"token":"` + testToken + `"}}`)
	if m := r.recv(); m.Error == nil || m.Error.Code != remote.CodeVersion {
		t.Fatalf("version 99: %+v", m)
	}
	r.closed()
	// The right token still works.
	c := f.dial(t, nil)
	if _, err := c.Eval(context.Background(), "1"); err != nil {
		t.Fatal(err)
	}
}

func TestBadFramesGetErrorsAndOnlyUndecodableOnesClose(t *testing.T) {
	f := serve(t, options{})
	good := f.dial(t, nil)
	ctx := context.Background()

	// Answered, connection kept: wrong version, unknown method, bad params.
	r := f.raw(t)
	r.init()
	r.send(`{"jsonrpc":"1.0","id":7,"method":"eval","params":{"code":"1"}}`)
	if m := r.recv(); m.Error == nil || m.Error.Code != remote.CodeInvalidRequest || string(m.ID) != "7" {
		t.Fatalf("jsonrpc 1.0: %+v", m)
	}
	r.send(`{"jsonrpc":"2.0","id":8,"method":"teleport","params":{}}`)
	if m := r.recv(); m.Error == nil || m.Error.Code != remote.CodeMethodNotFound || !strings.Contains(m.Error.Message, "teleport") {
		t.Fatalf("unknown method: %+v", m)
	}
	r.send(`{"jsonrpc":"2.0","id":9,"method":"eval","params":{"code":1}}`)
	if m := r.recv(); m.Error == nil || m.Error.Code != remote.CodeInvalidParams {
		t.Fatalf("bad params: %+v", m)
	}
	r.send(`{"jsonrpc":"2.0","id":10,"method":"eval","params":{"code":"6*7"}}`)
	if m := r.recv(); m.Error != nil || string(m.Result) != `{"values":["42"]}` {
		t.Fatalf("after errors: %+v %s", m.Error, m.Result)
	}

	// Undecodable: an error, then the connection is closed.
	for _, bad := range []string{`{"jsonrpc":"2.0","id":1,`, `not json at all`, `{"jsonrpc":"2.0","id":1,"method":"eval"} {}`} {
		r := f.raw(t)
		r.init()
		r.send(bad)
		if m := r.recv(); m.Error == nil || m.Error.Code != remote.CodeParse {
			t.Fatalf("%q: %+v", bad, m)
		}
		r.closed()
	}
	// The other connection never noticed.
	if res, err := good.Eval(ctx, "Account.balance"); err != nil || res.Values[0] != "10" {
		t.Fatalf("good connection: %v %v", res, err)
	}
}

func TestOversizeFrameClosesTheConnection(t *testing.T) {
	f := serve(t, options{})
	good := f.dial(t, nil)
	r := f.raw(t)
	r.init()
	big := `{"jsonrpc":"2.0","id":1,"method":"eval","params":{"code":"` + strings.Repeat("x", remote.MaxFrame) + `"}}`
	go io.WriteString(r.nc, big+"\n") // the server stops reading it
	m := r.recv()
	if m.Error == nil || m.Error.Code != remote.CodeInvalidRequest || !strings.Contains(m.Error.Message, "4194304") {
		t.Fatalf("oversize: %+v", m)
	}
	r.closed()
	// A frame just under the limit is fine.
	code := "return #'" + strings.Repeat("y", remote.MaxFrame-200) + "'"
	res, err := good.Eval(context.Background(), code)
	if err != nil || res.Values[0] != jsonNumber(uint64(remote.MaxFrame-200)) {
		t.Fatalf("large frame: %v", err)
	}
}

// panicky panics in Browse, as a bug in a handler would.
type panicky struct{ remote.Backend }

func (panicky) Browse(context.Context, string) (*remote.BrowseResult, error) {
	panic("browse is broken")
}

func TestPanicIsRecoveredLoggedAndImageStaysConsistent(t *testing.T) {
	f := serve(t, options{
		wrap: func(b remote.Backend) remote.Backend { return panicky{b} },
		setup: func(v *vm.VM) {
			// A Go builtin that panics in the middle of a transaction.
			v.SetBuiltin("explode", v.L.NewFunction(func(L *lua.LState) int { panic("exploded") }))
		},
	})
	c := f.dial(t, nil)
	other := f.dial(t, nil)
	ctx := context.Background()
	_, err := c.Browse(ctx, "")
	if code(err) != remote.CodeInternal || !strings.Contains(err.Error(), "browse is broken") {
		t.Fatalf("panic: %v", err)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "request panicked") || !strings.Contains(logs, "browse is broken") {
		t.Fatalf("panic not logged:\n%s", logs)
	}
	// The same connection and the others go on.
	if res, err := c.Eval(ctx, "1 + 1"); err != nil || res.Values[0] != "2" {
		t.Fatalf("after the panic: %v %v", res, err)
	}
	// A panic inside a transaction rolls it back.
	if _, err := other.Eval(ctx, "Account.balance = 500; Account.marker = true; explode()"); err == nil || !strings.Contains(err.Error(), "exploded") {
		t.Fatalf("explode: %v", err)
	}
	res, err := other.Eval(ctx, "Account.balance, Account.marker")
	if err != nil || strings.Join(res.Values, ",") != "10,nil" {
		t.Fatalf("after a panic in a transaction: %v %v", res, err)
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	ctx := context.Background()
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		ln, err := remote.Listen(ctx, addr, false)
		if err == nil {
			ln.Close()
			t.Fatalf("%s: listened without --allow-remote", addr)
		}
		if !strings.Contains(err.Error(), "--allow-remote") || !strings.Contains(err.Error(), addr) {
			t.Fatalf("%s: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		ln, err := remote.Listen(ctx, addr, false)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		ln.Close()
	}
	ln, err := remote.Listen(ctx, "0.0.0.0:0", true)
	if err != nil {
		t.Fatalf("with allowRemote: %v", err)
	}
	ln.Close()
}

func TestCloseInterruptsARunningEvaluation(t *testing.T) {
	f := serve(t, options{})
	c := f.dial(t, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Eval(context.Background(), "Account.balance = 1; while true do end")
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond) // the loop is running
	start := time.Now()
	f.srv.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := <-errc; err == nil {
		t.Fatal("the evaluation succeeded")
	}
	f.backend.Close()
	res, err := f.s.VM.Eval(context.Background(), "Account.balance", vm.EvalOptions{Print: true})
	if err != nil || res.Strings[0] != "10" {
		t.Fatalf("the interrupted evaluation was not rolled back: %v %v", res, err)
	}
}

func TestNullParamsAndNullResultAreAccepted(t *testing.T) {
	m, err := remote.Decode([]byte(`{"jsonrpc":"2.0","id":1,"method":"browse","params":null}`))
	if err != nil || m.Params != nil || !m.IsRequest() {
		t.Fatalf("null params: %+v %v", m, err)
	}
	m, err = remote.Decode([]byte(`{"jsonrpc":"2.0","id":1,"result":null}`))
	if err != nil || string(m.Result) != "null" {
		t.Fatalf("null result: %+v %v", m, err)
	}
	f := serve(t, options{})
	r := f.raw(t)
	r.init()
	r.send(`{"jsonrpc":"2.0","id":"b","method":"browse","params":null}`)
	if m := r.recv(); m.Error != nil || !strings.Contains(string(m.Result), `"Account"`) {
		t.Fatalf("browse with null params: %+v %s", m.Error, m.Result)
	}
}

func TestSilentClientIsDroppedBeforeInitialize(t *testing.T) {
	f := serve(t, options{initTimeout: 200 * time.Millisecond})
	r := f.raw(t)
	r.send(`{"jsonrpc":"2.0","method":"ping"}`) // a notification is no initialize
	r.closed()
	// An authenticated client may stay idle longer than that.
	c := f.dial(t, nil)
	time.Sleep(400 * time.Millisecond)
	if _, err := c.Eval(context.Background(), "1"); err != nil {
		t.Fatalf("idle authenticated client: %v", err)
	}
}

func TestCancelInterruptsARunningEvaluation(t *testing.T) {
	f := serve(t, options{})
	c := f.dial(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Eval(ctx, "Account.balance = 1; while true do end")
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond) // the loop is running
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	// The server interrupted it: the connection answers the next request
	// at once, and the interrupted transaction left nothing behind.
	start := time.Now()
	res, err := c.Eval(context.Background(), "Account.balance")
	if err != nil || res.Values[0] != "10" {
		t.Fatalf("after cancel: %v %v", res, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the next request waited %v: the evaluation was not interrupted", d)
	}
}

func TestClientGoingAwayInterruptsItsEvaluation(t *testing.T) {
	f := serve(t, options{})
	r := f.raw(t)
	r.init()
	r.send(`{"jsonrpc":"2.0","id":1,"method":"eval","params":{"code":"Account.balance = 2; while true do end"}}`)
	time.Sleep(200 * time.Millisecond)
	r.nc.Close()
	c := f.dial(t, nil)
	start := time.Now()
	res, err := c.Eval(context.Background(), "Account.balance")
	if err != nil || res.Values[0] != "10" || time.Since(start) > 5*time.Second {
		t.Fatalf("after the client left: %v %v after %v", res, err, time.Since(start))
	}
}
