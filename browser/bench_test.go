package browser

import (
	"fmt"
	"image"
	"runtime"
	"testing"
	"time"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"

	"github.com/phoenix-image/phoenix/browser/browsertest"
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

func (f *fakeImage) Children(ObjectRef) ([]ObjectRef, error) { return nil, nil }

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
	th := browsertest.Theme()
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

// BenchmarkBrowserScroll100k scrolls the object list of the browser over
// 100k globals from the first entry to the last, one screenful per frame
// (one op is the whole scroll). It reports the time and allocations per
// frame and the heap in use (HeapInuse after a GC, sampled every 64 frames
// and at the end, max over the run) as heap-MB, and its growth over the
// heap before the scroll as heap-growth-MB.
func BenchmarkBrowserScroll100k(b *testing.B) {
	const n = 100_000
	img := newFakeImage(n)
	th := browsertest.Theme()
	var ops op.Ops
	gtx := layout.Context{
		Ops:         &ops,
		Metric:      unit.Metric{PxPerDp: 1, PxPerSp: 1},
		Constraints: layout.Exact(image.Pt(1200, 800)),
	}
	heapInuse := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapInuse) / (1 << 20)
	}
	var frames, mallocs uint64
	var maxHeap, maxGrowth float64
	var frameTime time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		br := &Browser{Image: img}
		ops.Reset()
		br.Layout(gtx, th) // loads the globals
		if len(br.Listed()) != n {
			b.Fatalf("listed %d objects", len(br.Listed()))
		}
		before := heapInuse()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		m0 := ms.Mallocs
		b.StartTimer()
		start := time.Now()
		f := 0
		for {
			ops.Reset()
			br.Layout(gtx, th)
			f++
			pos := br.Objects.Position
			if pos.First+pos.Count >= n {
				break // the last entry is on screen
			}
			if pos.Count == 0 {
				b.Fatalf("frame %d shows no rows at %d", f, pos.First)
			}
			br.Objects.Position = layout.Position{First: pos.First + pos.Count}
			if f%64 == 0 {
				b.StopTimer()
				frameTime += time.Since(start)
				runtime.ReadMemStats(&ms)
				mallocs += ms.Mallocs - m0
				h := heapInuse()
				maxHeap, maxGrowth = max(maxHeap, h), max(maxGrowth, h-before)
				runtime.ReadMemStats(&ms)
				m0 = ms.Mallocs
				start = time.Now()
				b.StartTimer()
			}
		}
		b.StopTimer()
		frameTime += time.Since(start)
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - m0
		h := heapInuse()
		maxHeap, maxGrowth = max(maxHeap, h), max(maxGrowth, h-before)
		frames += uint64(f)
		b.StartTimer()
	}
	b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
	b.ReportMetric(float64(frameTime.Nanoseconds())/float64(frames), "ns/frame")
	b.ReportMetric(float64(mallocs)/float64(frames), "allocs/frame")
	b.ReportMetric(maxHeap, "heap-MB")
	b.ReportMetric(maxGrowth, "heap-growth-MB")
}
