package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/phoenix-image/phoenix/vm"
)

func sameApproval(a, b *Approval) bool {
	return a.ID == b.ID && a.Created.Equal(b.Created) && a.Status == b.Status && a.Object == b.Object &&
		a.Selector == b.Selector && string(a.Data) == string(b.Data) && a.Decided.Equal(b.Decided) &&
		a.DecidedBy == b.DecidedBy && a.Note == b.Note
}

func ids(as []*Approval) string {
	var s []string
	for _, a := range as {
		s = append(s, a.ID)
	}
	return strings.Join(s, ",")
}

func TestApprovalQueue(t *testing.T) {
	im := newImage(t)
	in := &Approval{Object: "Account", Selector: "withdraw", Data: json.RawMessage(`{ "source": "function Account:withdraw(n) end" }`)}
	a1, err := im.PutApproval(in)
	if err != nil {
		t.Fatal(err)
	}
	if a1.ID != "a1" || a1.Status != ApprovalPending || a1.Created.IsZero() || a1.Created.Location() != time.UTC ||
		string(a1.Data) != `{"source":"function Account:withdraw(n) end"}` || !a1.Decided.IsZero() {
		t.Fatalf("put: %+v", a1)
	}
	if in.ID != "" || in.Status != "" {
		t.Fatalf("input modified: %+v", in)
	}
	a2, err := im.PutApproval(&Approval{Object: "Account", Selector: "deposit"})
	if err != nil || a2.ID != "a2" || a2.Data != nil {
		t.Fatalf("second put: %+v %v", a2, err)
	}
	// A caller-chosen id that the image would assign next is skipped.
	if _, err := im.PutApproval(&Approval{ID: "a3", Object: "Bank"}); err != nil {
		t.Fatal(err)
	}
	a4, err := im.PutApproval(&Approval{Object: "Bank"})
	if err != nil || a4.ID != "a4" {
		t.Fatalf("after a caller's a3: %+v %v", a4, err)
	}

	got, err := im.GetApproval("a1")
	if err != nil || !sameApproval(got, a1) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := im.GetApproval("a99"); !errors.Is(err, ErrNoApproval) || !strings.Contains(err.Error(), `"a99"`) {
		t.Fatalf("get missing: %v", err)
	}
	if _, err := im.GetApproval("no such/id"); !errors.Is(err, ErrNoApproval) {
		t.Fatalf("get malformed id: %v", err)
	}

	// Decisions.
	d1, err := im.DecideApproval("a1", ApprovalApproved, "human", "looks right")
	if err != nil || d1.Status != ApprovalApproved || d1.DecidedBy != "human" || d1.Note != "looks right" ||
		d1.Decided.IsZero() || !d1.Created.Equal(a1.Created) || string(d1.Data) != string(a1.Data) {
		t.Fatalf("approve: %+v %v", d1, err)
	}
	if _, err := im.DecideApproval("a2", ApprovalRejected, "human", ""); err != nil {
		t.Fatal(err)
	}
	_, err = im.DecideApproval("a1", ApprovalRejected, "human", "changed my mind")
	if !errors.Is(err, ErrNotPending) || !strings.Contains(err.Error(), `"a1"`) || !strings.Contains(err.Error(), "approved") {
		t.Fatalf("decide twice: %v", err)
	}
	for _, bad := range []struct{ id, status, by string }{
		{"a4", ApprovalExpired, "human"}, {"a4", ApprovalPending, "human"}, {"a4", "", "human"}, {"a4", ApprovalApproved, ""},
	} {
		if _, err := im.DecideApproval(bad.id, bad.status, bad.by, ""); err == nil {
			t.Errorf("decide %+v accepted", bad)
		}
	}
	if _, err := im.DecideApproval("a77", ApprovalApproved, "human", ""); !errors.Is(err, ErrNoApproval) || !strings.Contains(err.Error(), `"a77"`) {
		t.Fatalf("decide missing: %v", err)
	}

	// Put may replace a pending approval (keeping Created) and expire it,
	// but not approve, reject or change a decided one.
	up, err := im.PutApproval(&Approval{ID: "a3", Object: "Bank", Data: json.RawMessage(`[1]`), Created: time.Unix(5, 0)})
	if err != nil || string(up.Data) != `[1]` || up.Created.Equal(time.Unix(5, 0)) {
		t.Fatalf("replace pending: %+v %v", up, err)
	}
	for _, bad := range []*Approval{
		{ID: "a4", Status: ApprovalApproved}, {ID: "a4", Status: ApprovalRejected}, {ID: "a4", Status: "done"},
		{ID: "bad id"}, {ID: strings.Repeat("x", 65)}, {Data: json.RawMessage(`{"a":`)},
	} {
		if _, err := im.PutApproval(bad); err == nil {
			t.Errorf("put %+v accepted", bad)
		}
	}
	if _, err := im.PutApproval(&Approval{ID: "a1", Object: "Account"}); !errors.Is(err, ErrNotPending) || !strings.Contains(err.Error(), "approved") {
		t.Fatalf("put over a decided approval: %v", err)
	}
	ex, err := im.PutApproval(&Approval{ID: "a4", Status: ApprovalExpired, Object: "Bank", DecidedBy: "system"})
	if err != nil || ex.Status != ApprovalExpired || ex.Decided.IsZero() {
		t.Fatalf("expire: %+v %v", ex, err)
	}
	if _, err := im.DecideApproval("a4", ApprovalApproved, "human", ""); !errors.Is(err, ErrNotPending) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("approve expired: %v", err)
	}

	check := func(im *Image) {
		t.Helper()
		for status, want := range map[string]string{
			"": "a1,a2,a3,a4", ApprovalPending: "a3", ApprovalApproved: "a1", ApprovalRejected: "a2", ApprovalExpired: "a4",
		} {
			as, err := im.Approvals(status)
			if err != nil || ids(as) != want {
				t.Errorf("approvals %q: %s %v, want %s", status, ids(as), err, want)
			}
		}
		if _, err := im.Approvals("bogus"); err == nil {
			t.Error("bogus status accepted")
		}
		if got, err := im.GetApproval("a1"); err != nil || !sameApproval(got, d1) {
			t.Errorf("get a1: %+v %v", got, err)
		}
		in, err := im.Info()
		if err != nil || in.PendingApprovals != 1 {
			t.Errorf("info: %+v %v", in, err)
		}
	}
	check(im)
	im = reopen(t, im)
	check(im)
	a5, err := im.PutApproval(&Approval{Object: "X"})
	if err != nil || a5.ID != "a5" {
		t.Fatalf("after reopen: %+v %v", a5, err)
	}
}

func TestApprovalsOrder(t *testing.T) {
	im := newImage(t)
	same := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 11 {
		if _, err := im.PutApproval(&Approval{Created: same}); err != nil {
			t.Fatal(err)
		}
	}
	// An older approval with a later id comes first.
	if _, err := im.PutApproval(&Approval{ID: "zzz", Created: same.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	as, err := im.Approvals("")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(as); got != "zzz,a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11" {
		t.Fatalf("order %s", got)
	}
}

func TestApprovalsReadOnlyAndClosed(t *testing.T) {
	im := newImage(t)
	if _, err := im.PutApproval(&Approval{Object: "A"}); err != nil {
		t.Fatal(err)
	}
	path := im.Path()
	im.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.PutApproval(&Approval{Object: "B"}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only put: %v", err)
	}
	if _, err := ro.DecideApproval("a1", ApprovalApproved, "human", ""); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only decide: %v", err)
	}
	if a, err := ro.GetApproval("a1"); err != nil || a.Status != ApprovalPending {
		t.Fatalf("read-only get: %+v %v", a, err)
	}
	if as, err := ro.Approvals(""); err != nil || len(as) != 1 {
		t.Fatalf("read-only list: %v %v", as, err)
	}
	ro.Close()
	if _, err := ro.PutApproval(&Approval{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed put: %v", err)
	}
	if _, err := ro.GetApproval("a1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed get: %v", err)
	}
	if _, err := ro.Approvals(""); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed list: %v", err)
	}
	if _, err := ro.DecideApproval("a1", ApprovalApproved, "human", ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed decide: %v", err)
	}
}

// auditAndQueue gives im a clean sample, three audit entries and two
// approvals (one decided).
func auditAndQueue(t *testing.T, im *Image) {
	t.Helper()
	commitSample(t, im)
	appendN(t, im, 3)
	if _, err := im.PutApproval(&Approval{Object: "Account", Selector: "withdraw", Data: json.RawMessage(`{"s":1}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := im.PutApproval(&Approval{Object: "Account", Selector: "deposit"}); err != nil {
		t.Fatal(err)
	}
	if _, err := im.DecideApproval("a2", ApprovalRejected, "human", "no"); err != nil {
		t.Fatal(err)
	}
}

func TestAuditAndQueueInVerifyInfoGC(t *testing.T) {
	im := newImage(t)
	auditAndQueue(t, im)
	rep, err := im.Verify(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.AuditEntries != 3 || rep.Approvals != 2 {
		t.Fatalf("verify: %+v\n%s", rep, problems(rep))
	}
	in, err := im.Info()
	if err != nil || in.AuditEntries != 3 || in.PendingApprovals != 1 || in.Records != 5 {
		t.Fatalf("info: %+v %v", in, err)
	}

	// GC removes an unreachable object but neither log nor queue.
	before := allKeys(t, im)
	if err := im.Commit(&vm.Batch{Puts: []*vm.Record{{OID: 500, Kind: vm.KindObject}}}); err != nil {
		t.Fatal(err)
	}
	gc, err := im.GC(nil)
	if err != nil || gc.Removed != 1 {
		t.Fatalf("gc: %+v %v", gc, err)
	}
	after := allKeys(t, im)
	for k, v := range before {
		if (strings.HasPrefix(k, "a/") || strings.HasPrefix(k, "q/") || strings.HasPrefix(k, "m/")) && after[k] != v && k != "m/next" {
			t.Fatalf("gc changed %q", k)
		}
	}
	if arep, err := im.VerifyAudit(); err != nil || !arep.OK || arep.Entries != 3 {
		t.Fatalf("audit after gc: %+v %v", arep, err)
	}

	// A corrupt approval and malformed meta are reported.
	im = tamper(t, im, func(db *pebble.DB) {
		rawSet(t, db, approvalKey("a1"), []byte(`{"id":"a1","status":"maybe"}`))
		rawSet(t, db, approvalKey("x y"), []byte(`{}`))
		rawSet(t, db, keyApprovalSeq, []byte{1})
	})
	rep, err = im.Verify(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := problems(rep)
	for _, want := range []string{
		`approval queue: approval "a1": corrupt: invalid status "maybe"`,
		`approval queue: malformed key "q/x y"`,
		"meta: m/approval-seq is 1 bytes, want 8",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if rep.ProblemCount != 3 {
		t.Errorf("%d problems:\n%s", rep.ProblemCount, got)
	}
	if _, err := im.GetApproval("a1"); err == nil || !strings.Contains(err.Error(), `"a1"`) {
		t.Errorf("get corrupt: %v", err)
	}
}

func TestExportImportCarriesAuditAndQueue(t *testing.T) {
	im := newImage(t)
	auditAndQueue(t, im)
	var buf bytes.Buffer
	if _, err := im.Export(&buf, nil); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "imported.image")
	if _, err := Import(bytes.NewReader(buf.Bytes()), dest, nil); err != nil {
		t.Fatal(err)
	}
	imp, err := Open(dest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer imp.Close()
	want, got := allKeys(t, im), allKeys(t, imp)
	if len(got) != len(want) {
		t.Fatalf("%d keys imported, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %q differs", k)
		}
	}
	if rep, err := imp.VerifyAudit(); err != nil || !rep.OK || rep.Entries != 3 {
		t.Fatalf("imported audit: %+v %v", rep, err)
	}
	if rep, err := imp.Verify(nil); err != nil || !rep.OK() {
		t.Fatalf("imported verify: %+v %v", rep, err)
	}
	// Both continue where the original left off.
	if e, err := imp.AppendAudit("import", "system", "", nil); err != nil || e.Seq != 4 {
		t.Fatalf("append after import: %+v %v", e, err)
	}
	if a, err := imp.PutApproval(&Approval{}); err != nil || a.ID != "a3" {
		t.Fatalf("put after import: %+v %v", a, err)
	}
}
