package browser

import (
	"fmt"
	"image"
	"testing"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"

	"github.com/phoenix-image/phoenix/vm"
)

// fakeImage serves n globals and a small view of each, without a VM.
type fakeImage struct{ refs []ObjectRef }

func newFakeImage(n int) *fakeImage {
	f := &fakeImage{refs: make([]ObjectRef, n)}
	for i := range f.refs {
		f.refs[i] = ObjectRef{OID: vm.OID(1000 + i), Name: fmt.Sprintf("Object%06d", i), Kind: "object", Proto: "Object"}
	}
	return f
}

func (f *fakeImage) Globals() ([]ObjectRef, error) { return f.refs, nil }

func (f *fakeImage) Describe(ref ObjectRef) (ObjectView, error) {
	return ObjectView{
		Ref:     ref,
		Chain:   []ObjectRef{{OID: 2, Name: "Object", Kind: "object"}},
		Slots:   []SlotView{{Name: "balance", Value: "0"}},
		Methods: []MethodView{{Selector: "deposit", Source: "function " + ref.Name + ":deposit(n) self.balance = self.balance + n; return self end"}},
	}, nil
}

func (f *fakeImage) Accept(ObjectRef, string, string) error { return nil }

// BenchmarkBrowserFrame100k is the CPU time to lay out one frame of the
// browser over 100k globals, with one selected and its method in the editor.
func BenchmarkBrowserFrame100k(b *testing.B) {
	img := newFakeImage(100_000)
	br := &Browser{Image: img}
	th := newTheme()
	var ops op.Ops
	gtx := layout.Context{
		Ops:         &ops,
		Metric:      unit.Metric{PxPerDp: 1, PxPerSp: 1},
		Constraints: layout.Exact(image.Pt(1200, 800)),
	}
	br.Layout(gtx, th)
	br.Select(img.refs[50_000])
	ops.Reset()
	br.Layout(gtx, th)
	br.Edit("deposit")
	ops.Reset()
	br.Layout(gtx, th)
	if len(br.Listed()) != 100_000 {
		b.Fatalf("listed %d objects", len(br.Listed()))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ops.Reset()
		br.Layout(gtx, th)
	}
}
