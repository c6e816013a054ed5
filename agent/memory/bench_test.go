package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/agent/memory/weaviatetest"
	"github.com/phoenix-image/phoenix/image"
)

// The retrieval benchmarks: Search latency (top 5, hybrid: BM25 plus the
// query's vector) over 10k and 100k remembered items, embedded versus
// Weaviate. The items are synthetic — purposes, objects, selectors and
// sources drawn from a 5,000-word vocabulary with Zipf frequencies — with
// 256-dimensional bag-of-words vectors from the same in-process fake
// embedder for both backends, so the figures compare the stores, not an
// embedding model. The stores are built once per size and shared by all
// runs (-count); one weaviate-server serves every Weaviate benchmark and is
// stopped by TestMain. Both are measured at rest: Weaviate after it has
// flushed the import's memtables to segments (searching them unflushed,
// right after the import, took 50-100 ms a query here).

// weaviateSettle is how long a Weaviate benchmark waits after importing.
const weaviateSettle = 10 * time.Second

var (
	benchMu     sync.Mutex
	benchStores = map[string]Store{}
	benchImages = map[int]*image.Image{} // of the embedded stores, by size
	// the images of the open benchmarks, by size
	benchOpenImages = map[int]*image.Image{}
	benchServer     *weaviatetest.Server
	benchTempDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	benchMu.Lock()
	for _, s := range benchStores {
		s.Close()
	}
	for _, im := range benchImages {
		im.Close()
	}
	for _, im := range benchOpenImages {
		im.Close()
	}
	if benchServer != nil {
		benchServer.Stop()
	}
	if benchTempDir != "" {
		os.RemoveAll(benchTempDir)
	}
	benchMu.Unlock()
	os.Exit(code)
}

func benchVocab() []string {
	r := rand.New(rand.NewPCG(1, 2))
	syll := []string{"ka", "lo", "mi", "ter", "san", "vo", "ri", "den", "pul", "ax", "qua", "zen", "tor", "bel", "nis", "fo"}
	seen := map[string]bool{}
	var words []string
	for len(words) < 5000 {
		var sb strings.Builder
		for range 2 + r.IntN(3) {
			sb.WriteString(syll[r.IntN(len(syll))])
		}
		if w := sb.String(); !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return words
}

// benchItems makes n deterministic items with their vectors.
func benchItems(n int) []Item {
	words := benchVocab()
	r := rand.New(rand.NewPCG(3, 4))
	z := rand.NewZipf(r, 1.1, 1, uint64(len(words)-1))
	phrase := func(k int) string {
		ws := make([]string, k)
		for i := range ws {
			ws[i] = words[z.Uint64()]
		}
		return strings.Join(ws, " ")
	}
	e := &fakeEmbedder{}
	items := make([]Item, n)
	kinds := []Kind{KindMethod, KindMethod, KindPlan, KindConversation}
	for i := range items {
		it := Item{ID: fmt.Sprintf("b%07d", i), Kind: kinds[i%len(kinds)], Purpose: phrase(10), Source: phrase(30)}
		if it.Kind == KindMethod {
			it.Object, it.Selector = "Obj"+words[r.IntN(200)], words[r.IntN(len(words))]
		}
		items[i] = it
	}
	for start := 0; start < n; start += 1000 {
		end := min(start+1000, n)
		texts := make([]string, 0, end-start)
		for i := start; i < end; i++ {
			texts = append(texts, items[i].Text())
		}
		vs, _ := e.Embed(context.Background(), texts)
		for i := start; i < end; i++ {
			items[i].Vector = vs[i-start]
		}
	}
	return items
}

func benchQueries() []string {
	words := benchVocab()
	r := rand.New(rand.NewPCG(5, 6))
	z := rand.NewZipf(r, 1.1, 1, uint64(len(words)-1))
	// Like a person's request after stop words are gone: two words of
	// middling frequency (not among the 100 commonest) and two rare ones.
	mid := func() string {
		for {
			if k := z.Uint64(); k >= 100 {
				return words[k]
			}
		}
	}
	qs := make([]string, 100)
	for i := range qs {
		qs[i] = mid() + " " + mid() + " " + words[r.IntN(len(words))] + " " + words[r.IntN(len(words))]
	}
	return qs
}

// benchStore returns the shared store of the backend with n items.
func benchStore(b *testing.B, backend string, n int) Store {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	key := fmt.Sprintf("%s-%d", backend, n)
	if s := benchStores[key]; s != nil {
		return s
	}
	b.StopTimer()
	defer b.StartTimer()
	items := benchItems(n)
	ctx := context.Background()
	var s Store
	switch backend {
	case "embedded":
		if benchTempDir == "" {
			d, err := os.MkdirTemp("", "memory-bench-")
			if err != nil {
				b.Fatal(err)
			}
			benchTempDir = d
		}
		im, err := image.Create(filepath.Join(benchTempDir, key+".image"), image.Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchImages[n] = im
		e, err := OpenEmbedded(im, Options{Embedder: &fakeEmbedder{}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		for start := 0; start < n; start += 5000 {
			if err := e.RememberAll(items[start:min(start+5000, n)]); err != nil {
				b.Fatal(err)
			}
		}
		s = e
	case "embedded-bm25":
		benchMu.Unlock()
		benchStore(b, "embedded", n)
		benchMu.Lock()
		e, err := OpenEmbedded(benchImages[n], Options{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		s = e
	case "weaviate":
		if benchServer == nil {
			srv, err := weaviatetest.Launch()
			if err != nil {
				b.Fatal(err)
			}
			benchServer = srv
		}
		w, err := OpenWeaviate(ctx, WeaviateOptions{URL: benchServer.URL(), Class: fmt.Sprintf("Bench%d", n), Embedder: &fakeEmbedder{}})
		if err != nil {
			b.Fatal(err)
		}
		if err := w.RememberAll(ctx, items); err != nil {
			b.Fatal(err)
		}
		// Let the server flush its memtables (after 2 idle seconds, see
		// weaviatetest), as a long-running one would have.
		time.Sleep(weaviateSettle)
		s = w
	}
	if c, err := s.Count(ctx); err != nil || c != n {
		b.Fatalf("%s holds %d items (%v), want %d", key, c, err, n)
	}
	benchStores[key] = s
	return s
}

func benchSearch(b *testing.B, backend string, n int) {
	s := benchStore(b, backend, n)
	qs := benchQueries()
	ctx := context.Background()
	found := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		hits, err := s.Search(ctx, qs[i%len(qs)], 5)
		if err != nil {
			b.Fatal(err)
		}
		found += len(hits)
	}
	if found == 0 {
		b.Fatal("no query found anything")
	}
}

func BenchmarkMemorySearchEmbedded10k(b *testing.B)  { benchSearch(b, "embedded", 10_000) }
func BenchmarkMemorySearchEmbedded100k(b *testing.B) { benchSearch(b, "embedded", 100_000) }
func BenchmarkMemorySearchWeaviate10k(b *testing.B)  { benchSearch(b, "weaviate", 10_000) }
func BenchmarkMemorySearchWeaviate100k(b *testing.B) { benchSearch(b, "weaviate", 100_000) }

// BM25 alone (no embedder): the bleve part of the embedded search.
func BenchmarkMemorySearchEmbeddedBM25_10k(b *testing.B)  { benchSearch(b, "embedded-bm25", 10_000) }
func BenchmarkMemorySearchEmbeddedBM25_100k(b *testing.B) { benchSearch(b, "embedded-bm25", 100_000) }

// Opening the embedded store, on an image of its own per size (the shared
// search store would hold the index cache): cold, with no cache, reads
// the items and rebuilds the bleve index on disk (what every open cost
// before the cache); warm opens the valid cache (checking its manifest and
// files); warm with vectors also reads the items' vectors from the image
// for the cosine scan (a store with an embedder). Each iteration closes the
// store, which writes the cache's manifest.
func benchOpen(b *testing.B, n int, mode string) {
	im := benchOpenImage(b, n)
	opts := Options{}
	if mode == "warm-vectors" {
		opts.Embedder = &fakeEmbedder{}
	}
	want := map[string]string{"cold": "rebuilt", "warm": "cache", "warm-vectors": "cache"}[mode]
	for b.Loop() {
		if mode == "cold" {
			b.StopTimer()
			if err := os.RemoveAll(im.MemoryIndexDir()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		e, err := OpenEmbedded(im, opts, nil)
		if err != nil {
			b.Fatal(err)
		}
		if e.opened != want {
			b.Fatalf("the index opened from %q, want %q", e.opened, want)
		}
		if c, _ := e.Count(context.Background()); c != n {
			b.Fatalf("opened %d items, want %d", c, n)
		}
		if mode == "warm-vectors" && len(e.vecs.ids) != n {
			b.Fatalf("loaded %d vectors, want %d", len(e.vecs.ids), n)
		}
		if err := e.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchOpenImage returns an image holding n items and a valid index cache.
func benchOpenImage(b *testing.B, n int) *image.Image {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if im := benchOpenImages[n]; im != nil {
		return im
	}
	b.StopTimer()
	defer b.StartTimer()
	if benchTempDir == "" {
		d, err := os.MkdirTemp("", "memory-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchTempDir = d
	}
	im, err := image.Create(filepath.Join(benchTempDir, fmt.Sprintf("open-%d.image", n)), image.Options{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := OpenEmbedded(im, Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	items := benchItems(n)
	for start := 0; start < n; start += 5000 {
		if err := e.RememberAll(items[start:min(start+5000, n)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
	benchOpenImages[n] = im
	return im
}

func BenchmarkMemoryOpenEmbedded10k(b *testing.B)             { benchOpen(b, 10_000, "cold") }
func BenchmarkMemoryOpenEmbedded100k(b *testing.B)            { benchOpen(b, 100_000, "cold") }
func BenchmarkMemoryOpenEmbeddedWarm10k(b *testing.B)         { benchOpen(b, 10_000, "warm") }
func BenchmarkMemoryOpenEmbeddedWarm100k(b *testing.B)        { benchOpen(b, 100_000, "warm") }
func BenchmarkMemoryOpenEmbeddedWarmVectors10k(b *testing.B)  { benchOpen(b, 10_000, "warm-vectors") }
func BenchmarkMemoryOpenEmbeddedWarmVectors100k(b *testing.B) { benchOpen(b, 100_000, "warm-vectors") }
