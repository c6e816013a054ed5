package memory

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/phoenix-image/phoenix/image"
)

// noCache hides the image's IndexCacher methods: a store on it indexes in
// memory, like an older build or another tool writing the image.
type noCache struct{ im *image.Image }

func (n noCache) PutMemories(items map[string][]byte) error { return n.im.PutMemories(items) }
func (n noCache) DeleteMemories(ids []string) error         { return n.im.DeleteMemories(ids) }
func (n noCache) Memories(fn func(string, []byte) error) error {
	return n.im.Memories(fn)
}
func (n noCache) Memory(id string) ([]byte, bool, error) { return n.im.Memory(id) }

// syncEmbedder is the fake embedder made safe for concurrent calls (it
// counts them).
type syncEmbedder struct {
	mu sync.Mutex
	f  fakeEmbedder
}

func (s *syncEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Embed(ctx, texts)
}

// cacheFixture is an image on disk with pastWork remembered through a
// cached store that was closed (so its cache is valid).
func cacheFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.image")
	im, err := image.Create(path, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenEmbedded(im, Options{Embedder: &fakeEmbedder{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.opened != "rebuilt" {
		t.Fatalf("a new image's store opened from %q, want rebuilt", s.opened)
	}
	for _, it := range pastWork {
		if _, err := s.Remember(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := im.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// reopen opens the image and its store, checks how the index was opened,
// and returns both (closed by the test's cleanup).
func reopen(t *testing.T, path, want string, log *slog.Logger) (*image.Image, *Embedded) {
	t.Helper()
	im, err := image.Open(path, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenEmbedded(im, Options{Embedder: &syncEmbedder{}, Log: log}, nil)
	if err != nil {
		im.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); im.Close() })
	if s.opened != want {
		t.Fatalf("the index opened from %q, want %q", s.opened, want)
	}
	return im, s
}

func mustFind(t *testing.T, s Store, query, selector string) {
	t.Helper()
	hits, err := s.Search(context.Background(), query, 1)
	if err != nil || len(hits) != 1 || hits[0].Item.Selector != selector {
		t.Fatalf("search %q: %+v (%v), want %s", query, hits, err, selector)
	}
	if len(hits[0].Item.Vector) != 256 {
		t.Fatalf("search %q: the hit has %d dims", query, len(hits[0].Item.Vector))
	}
}

func count(t *testing.T, s Store) int {
	t.Helper()
	n, err := s.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIndexCacheWarmOpen(t *testing.T) {
	path := cacheFixture(t)
	if _, err := os.Stat(filepath.Join(path, "memory-index", manifestName)); err != nil {
		t.Fatalf("no manifest after close: %v", err)
	}
	var logs bytes.Buffer
	_, s := reopen(t, path, "cache", slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if n := count(t, s); n != len(pastWork) {
		t.Fatalf("%d items, want %d", n, len(pastWork))
	}
	mustFind(t, s, "withdraw money from my account", "withdraw")
	// Searching does not invalidate the cache, even without a close.
	if _, err := os.Stat(filepath.Join(path, "memory-index", manifestName)); err != nil {
		t.Fatalf("a search removed the manifest: %v", err)
	}
	if strings.Contains(logs.String(), "rebuilding") {
		t.Fatalf("a warm open rebuilt:\n%s", logs.String())
	}
	// A write removes it until the close.
	if _, err := s.Remember(context.Background(), Item{Kind: KindMethod, Object: "Queue", Selector: "enqueue", Purpose: "append an element to the queue"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, "memory-index", manifestName)); err == nil {
		t.Fatal("the manifest survived a write")
	}
}

func TestIndexCacheSurvivesWritesAcrossSessions(t *testing.T) {
	path := cacheFixture(t)
	im, s := reopen(t, path, "cache", nil)
	ctx := context.Background()
	if _, err := s.Remember(ctx, Item{Kind: KindMethod, Object: "Queue", Selector: "enqueue", Purpose: "append an element to the queue"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(ctx, Filter{Kind: KindPlan}); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
	s.Close()
	im.Close()
	_, s = reopen(t, path, "cache", nil)
	if n := count(t, s); n != len(pastWork) {
		t.Fatalf("%d items, want %d", n, len(pastWork))
	}
	mustFind(t, s, "enqueue an element", "enqueue")
	if hits, _ := s.Search(ctx, "queue prototype plan steps", 5); len(hits) > 0 {
		for _, h := range hits {
			if h.Item.Kind == KindPlan {
				t.Fatalf("the pruned plan was found: %+v", h)
			}
		}
	}
}

// A store that did not keep the cache (another tool, an older build)
// changes the items: the next open notices and rebuilds, and finds what
// changed.
func TestIndexCacheRebuildsWhenTheItemsChangedElsewhere(t *testing.T) {
	path := cacheFixture(t)
	ctx := context.Background()
	im, err := image.Open(path, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := OpenEmbedded(noCache{im}, Options{Embedder: &fakeEmbedder{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if other.opened != "memory" {
		t.Fatalf("a store without the cache opened from %q", other.opened)
	}
	if _, err := other.Remember(ctx, Item{Kind: KindMethod, Object: "Queue", Selector: "enqueue", Purpose: "append an element to the queue"}); err != nil {
		t.Fatal(err)
	}
	if n, err := other.Prune(ctx, Filter{Kind: KindMethod}); err != nil || n != 4 {
		t.Fatalf("prune: %d %v", n, err)
	}
	other.Close()
	im.Close()

	var logs bytes.Buffer
	_, s := reopen(t, path, "rebuilt", slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "the image's memory changed") {
		t.Fatalf("the rebuild was not logged with its reason:\n%s", logs.String())
	}
	if n := count(t, s); n != 2 {
		t.Fatalf("%d items after the other store pruned the methods, want 2", n)
	}
	hits, err := s.Search(ctx, "withdraw money from my account", 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if h.Item.Kind == KindMethod {
			t.Fatalf("a pruned method was found: %+v", h.Item)
		}
	}
}

func TestIndexCacheRebuildsWhenMissingOrCorrupt(t *testing.T) {
	cases := map[string]func(t *testing.T, dir string){
		"deleted": func(t *testing.T, dir string) { os.RemoveAll(dir) },
		"every file garbage": func(t *testing.T, dir string) {
			walkFiles(t, dir, func(p string) { os.WriteFile(p, []byte("garbage"), 0o644) })
		},
		"a byte flipped in each index file, sizes kept": func(t *testing.T, dir string) {
			walkFiles(t, dir, func(p string) {
				if filepath.Base(p) == manifestName {
					return
				}
				b, _ := os.ReadFile(p)
				if len(b) > 0 {
					b[len(b)/2] ^= 0xff
					os.WriteFile(p, b, 0o644)
				}
			})
		},
		"files truncated": func(t *testing.T, dir string) {
			walkFiles(t, dir, func(p string) {
				if filepath.Base(p) != manifestName {
					os.Truncate(p, 0)
				}
			})
		},
		"manifest corrupt": func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, manifestName), []byte("{"), 0o644)
		},
		"manifest of another bleve": func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, manifestName))
			os.WriteFile(filepath.Join(dir, manifestName), bytes.Replace(b, []byte(bleveVersion()), []byte("github.com/blevesearch/bleve/v2@v2.0.0"), 1), 0o644)
		},
		"an extra file": func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "store", "000099.zap"), []byte("x"), 0o644)
		},
		"a file where the directory was": func(t *testing.T, dir string) {
			os.RemoveAll(dir)
			os.WriteFile(dir, []byte("x"), 0o644)
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			path := cacheFixture(t)
			damage(t, filepath.Join(path, "memory-index"))
			_, s := reopen(t, path, "rebuilt", nil)
			if n := count(t, s); n != len(pastWork) {
				t.Fatalf("%d items, want %d", n, len(pastWork))
			}
			mustFind(t, s, "withdraw money from my account", "withdraw")
			mustFind(t, s, "reverse a string", "reversed")
		})
	}
}

func walkFiles(t *testing.T, dir string, fn func(string)) {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fn(p)
			n++
		}
		return nil
	})
	if n < 2 {
		t.Fatalf("the cache %s holds %d files", dir, n)
	}
}

// Two stores on one image in one process: the second indexes in memory,
// and its writes keep the first's cache from being trusted.
func TestIndexCacheTwoStoresInOneProcess(t *testing.T) {
	path := cacheFixture(t)
	im, first := reopen(t, path, "cache", nil)
	second, err := OpenEmbedded(im, Options{Embedder: &fakeEmbedder{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if second.opened != "memory" {
		t.Fatalf("the second store opened from %q, want memory", second.opened)
	}
	if _, err := second.Remember(context.Background(), Item{Kind: KindMethod, Object: "Queue", Selector: "enqueue", Purpose: "append an element to the queue"}); err != nil {
		t.Fatal(err)
	}
	second.Close()
	first.Close()
	im.Close()
	_, s := reopen(t, path, "rebuilt", nil)
	mustFind(t, s, "enqueue an element", "enqueue")
}

// The GUI and the CLI share one store: concurrent remembers, searches,
// lists and prunes are safe (run with -race) and all land in the cache.
func TestIndexCacheConcurrentUse(t *testing.T) {
	path := cacheFixture(t)
	im, s := reopen(t, path, "cache", nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				it := Item{Kind: KindConversation, Purpose: fmt.Sprintf("question %d of worker %d about queues", i, g), Source: "an answer"}
				if _, err := s.Remember(ctx, it); err != nil {
					errs <- err
				}
				if _, err := s.Search(ctx, "queues worker question", 3); err != nil {
					errs <- err
				}
				if _, err := s.List(ctx, Filter{Kind: KindConversation}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := len(pastWork) + 20
	if n := count(t, s); n != want {
		t.Fatalf("%d items, want %d", n, want)
	}
	s.Close()
	im.Close()
	_, s = reopen(t, path, "cache", nil)
	if n := count(t, s); n != want {
		t.Fatalf("after reopening: %d items, want %d", n, want)
	}
}

// A read-only image gets no cache directory: its store indexes in memory.
func TestIndexCacheReadOnlyImage(t *testing.T) {
	path := cacheFixture(t)
	os.RemoveAll(filepath.Join(path, "memory-index"))
	im, err := image.Open(path, image.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	s, err := OpenEmbedded(im, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.opened != "memory" {
		t.Fatalf("opened from %q, want memory", s.opened)
	}
	if n := count(t, s); n != len(pastWork) {
		t.Fatalf("%d items", n)
	}
	if _, err := os.Stat(filepath.Join(path, "memory-index")); err == nil {
		t.Fatal("a read-only image got a cache directory")
	}
}

// The CLI closes the image before the agent's store: the cache written
// then is still valid, and reflects the session's writes.
func TestIndexCacheStoreClosedAfterTheImage(t *testing.T) {
	path := cacheFixture(t)
	im, err := image.Open(path, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenEmbedded(im, Options{Embedder: &syncEmbedder{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remember(context.Background(), Item{Kind: KindMethod, Object: "Queue", Selector: "enqueue", Purpose: "append an element to the queue"}); err != nil {
		t.Fatal(err)
	}
	im.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, s = reopen(t, path, "cache", nil)
	mustFind(t, s, "enqueue an element", "enqueue")
}
