package memory

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"

	"github.com/phoenix-image/phoenix/image"
)

func newImage(t testing.TB) *image.Image {
	t.Helper()
	im, err := image.Create(filepath.Join(t.TempDir(), "test.image"), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { im.Close() })
	return im
}

func TestEmbeddedConformance(t *testing.T) {
	storeSuite(t, func(t *testing.T, e Embedder) Store {
		s, err := OpenEmbedded(newImage(t), Options{Embedder: e}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestEmbeddedSurvivesRestartExportAndImport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "a.image")
	im, err := image.Create(path, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenEmbedded(im, Options{Embedder: &fakeEmbedder{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range pastWork {
		if _, err := s.Remember(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	im.Close()

	check := func(where string, im *image.Image, e Embedder) {
		t.Helper()
		s, err := OpenEmbedded(im, Options{Embedder: e}, nil)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		defer s.Close()
		if n, _ := s.Count(ctx); n != len(pastWork) {
			t.Fatalf("%s: %d items, want %d", where, n, len(pastWork))
		}
		hits, err := s.Search(ctx, "withdraw money from my account", 1)
		if err != nil || len(hits) != 1 || hits[0].Item.Selector != "withdraw" {
			t.Fatalf("%s: search %+v (%v)", where, hits, err)
		}
		if len(hits[0].Item.Vector) != 256 {
			t.Fatalf("%s: the vector was not kept (%d dims)", where, len(hits[0].Item.Vector))
		}
	}
	im, err = image.Open(path, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	check("after restart", im, &fakeEmbedder{})
	check("after restart, no embedder", im, nil)
	var buf bytes.Buffer
	if _, err := im.Export(&buf, nil); err != nil {
		t.Fatal(err)
	}
	im.Close()
	dest := filepath.Join(dir, "b.image")
	if _, err := image.Import(&buf, dest, nil); err != nil {
		t.Fatal(err)
	}
	im2, err := image.Open(dest, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer im2.Close()
	check("after export and import", im2, &fakeEmbedder{})
}

func TestEmbeddedRanksByBM25(t *testing.T) {
	s, err := OpenEmbedded(newImage(t), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, it := range pastWork {
		if _, err := s.Remember(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	q := bleve.NewMatchQuery("account money")
	q.SetField("text")
	req := bleve.NewSearchRequest(q)
	req.Explain = true
	res, err := s.index.Search(req)
	if err != nil || len(res.Hits) == 0 {
		t.Fatalf("search: %v %v", res, err)
	}
	if expl := res.Hits[0].Expl.String(); !strings.Contains(expl, "as per bm25 model") {
		t.Fatalf("the score is not BM25:\n%s", expl)
	}
}

func TestStoredItemRoundTripAndCorruptItems(t *testing.T) {
	it := pastWork[0]
	it.ID, it.Vector = "x1", []float32{0.5, -0.25, 1e-7, 3}
	v, err := encodeItem(&it)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(v), "0.25") {
		t.Fatalf("the vector is stored as numbers: %s", v)
	}
	back, err := decodeItem(v)
	if err != nil || back.Purpose != it.Purpose || back.Source != it.Source || len(back.Vector) != 4 || back.Vector[1] != -0.25 || back.Vector[2] != 1e-7 {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if _, err := decodeItem([]byte(`{"id":"x","vec":"AAA="}`)); err == nil {
		t.Fatal("a vector of 2 bytes decoded")
	}

	// A corrupt item in the image is skipped (and kept); the rest load.
	im := newImage(t)
	if err := im.PutMemories(map[string][]byte{"bad": []byte("{not json"), "good": v}); err != nil {
		t.Fatal(err)
	}
	s, err := OpenEmbedded(im, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.Count(context.Background()); n != 1 {
		t.Fatalf("%d items loaded, want the good one", n)
	}
	kept := 0
	im.Memories(func(string, []byte) error { kept++; return nil })
	if kept != 2 {
		t.Fatalf("the image holds %d items, want both", kept)
	}
}
