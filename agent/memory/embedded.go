package memory

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bleveindex "github.com/blevesearch/bleve_index_api"
)

// Persister is where the embedded store keeps its items: *image.Image
// implements it (the r/ keyspace).
type Persister interface {
	PutMemories(items map[string][]byte) error
	DeleteMemories(ids []string) error
	Memories(fn func(id string, value []byte) error) error
}

// Options configure the embedded store.
type Options struct {
	// Embedder, if not nil, embeds items and queries; nil means BM25 only.
	Embedder Embedder
	// MinSimilarity is the cosine below which a vector match is not
	// counted (0 means DefaultMinSimilarity).
	MinSimilarity float64
	Log           *slog.Logger
}

// DefaultMinSimilarity keeps unrelated items out of vector results.
const DefaultMinSimilarity = 0.25

// rrfK is the constant of reciprocal rank fusion (Cormack et al. 2009).
const rrfK = 60

// Embedded is the default Store: items in the image, BM25 from bleve and an
// exact cosine scan over vectors, fused by reciprocal rank.
type Embedded struct {
	p    Persister
	opts Options
	log  *slog.Logger

	mu    sync.RWMutex
	items map[string]*Item
	index bleve.Index // in memory; rebuilt from the items at Open
	vecs  vectorSlab  // the items' vectors, contiguous for the scan
}

// vectorSlab keeps unit vectors of one dimension in one slice, row i
// belonging to ids[i], so the cosine scan walks memory in order.
type vectorSlab struct {
	dim  int
	data []float32
	ids  []string
	row  map[string]int
}

func (s *vectorSlab) put(id string, v []float32) {
	if s.row == nil {
		s.row = map[string]int{}
	}
	s.remove(id)
	if len(v) == 0 {
		return
	}
	if s.dim == 0 {
		s.dim = len(v)
	}
	if len(v) != s.dim {
		return // another model's vector: not comparable
	}
	s.row[id] = len(s.ids)
	s.ids = append(s.ids, id)
	s.data = append(s.data, v...)
}

func (s *vectorSlab) remove(id string) {
	r, ok := s.row[id]
	if !ok {
		return
	}
	last := len(s.ids) - 1
	if r != last {
		s.ids[r] = s.ids[last]
		copy(s.data[r*s.dim:(r+1)*s.dim], s.data[last*s.dim:])
		s.row[s.ids[r]] = r
	}
	s.ids = s.ids[:last]
	s.data = s.data[:last*s.dim]
	delete(s.row, id)
}

func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a) &^ 3
	b = b[:len(a)]
	for i := 0; i < n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for i := n; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

var _ Store = (*Embedded)(nil)

// indexDoc is what bleve indexes of an item.
type indexDoc struct {
	Text string `json:"text"`
}

func newIndex() (bleve.Index, error) {
	m := mapping.NewIndexMapping()
	m.ScoringModel = bleveindex.BM25Scoring
	m.DefaultAnalyzer = "en"
	// scorch with no path keeps its segments in memory; it is the index
	// type that implements BM25 (bleve.NewMemOnly's upsidedown falls back
	// to TF-IDF).
	return bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
}

// OpenEmbedded loads the items kept by p and builds their index.
// progress (may be nil) is called every openBatch items while indexing.
func OpenEmbedded(p Persister, opts Options, progress func(done int)) (*Embedded, error) {
	if opts.MinSimilarity == 0 {
		opts.MinSimilarity = DefaultMinSimilarity
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	idx, err := newIndex()
	if err != nil {
		return nil, fmt.Errorf("memory: creating the search index: %w", err)
	}
	e := &Embedded{p: p, opts: opts, log: log, items: map[string]*Item{}, index: idx}
	batch := idx.NewBatch()
	n := 0
	err = p.Memories(func(id string, v []byte) error {
		it, err := decodeItem(v)
		if err != nil {
			log.Warn("memory: skipping an undecodable item", "id", id, "err", err)
			return nil
		}
		it.ID = id
		e.items[id] = &it
		e.vecs.put(id, it.Vector)
		if err := batch.Index(id, indexDoc{Text: it.Text()}); err != nil {
			return err
		}
		n++
		if batch.Size() >= openBatch {
			if err := idx.Batch(batch); err != nil {
				return err
			}
			batch.Reset()
			if progress != nil {
				progress(n)
			}
		}
		return nil
	})
	if err == nil {
		err = idx.Batch(batch)
	}
	if err != nil {
		idx.Close()
		return nil, fmt.Errorf("memory: loading the remembered items: %w", err)
	}
	if progress != nil {
		progress(n)
	}
	return e, nil
}

// Remember implements Store. If the embedder fails, the item is kept
// without a vector (BM25 still finds it) and the failure is logged.
func (e *Embedded) Remember(ctx context.Context, it Item) (Item, error) {
	if err := prepare(&it); err != nil {
		return Item{}, err
	}
	if err := embedOne(ctx, e.opts.Embedder, &it); err != nil {
		e.log.Warn("memory: remembering without a vector", "id", it.ID, "err", err)
	}
	if err := e.RememberAll([]Item{it}); err != nil {
		return Item{}, err
	}
	return it, nil
}

// RememberAll stores prepared items (with their vectors, if any) in one
// write; it is how benchmarks and imports fill a store quickly. Items
// without an ID or time get them.
func (e *Embedded) RememberAll(items []Item) error {
	vals := make(map[string][]byte, len(items))
	batch := e.index.NewBatch()
	for i := range items {
		it := &items[i]
		if err := prepare(it); err != nil {
			return err
		}
		if it.Vector != nil {
			it.Vector = normalize(it.Vector)
		}
		v, err := encodeItem(it)
		if err != nil {
			return fmt.Errorf("memory: encoding item %s: %w", it.ID, err)
		}
		vals[it.ID] = v
		if err := batch.Index(it.ID, indexDoc{Text: it.Text()}); err != nil {
			return fmt.Errorf("memory: indexing item %s: %w", it.ID, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.items == nil {
		return errors.New("memory: the store is closed")
	}
	if err := e.p.PutMemories(vals); err != nil {
		return err
	}
	if err := e.index.Batch(batch); err != nil {
		return fmt.Errorf("memory: indexing: %w", err)
	}
	for i := range items {
		it := items[i]
		e.items[it.ID] = &it
		e.vecs.put(it.ID, it.Vector)
	}
	return nil
}

// candidates is how many results each ranking contributes to the fusion.
func candidates(k int) int { return max(50, 5*k) }

// Search implements Store: BM25 (bleve) and, with an embedder, the cosine
// scan, fused by reciprocal rank. If embedding the query fails, BM25 alone
// answers and the failure is logged.
func (e *Embedded) Search(ctx context.Context, query string, k int) ([]Hit, error) {
	if k <= 0 {
		return nil, nil
	}
	qv, err := embedQuery(ctx, e.opts.Embedder, query)
	if err != nil {
		e.log.Warn("memory: searching by BM25 alone", "err", err)
		qv = nil
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.items == nil {
		return nil, errors.New("memory: the store is closed")
	}
	n := candidates(k)
	fused := map[string]float64{}

	mq := bleve.NewMatchQuery(query)
	mq.SetField("text")
	req := bleve.NewSearchRequestOptions(mq, n, 0, false)
	res, err := e.index.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("memory: BM25 search for %q: %w", query, err)
	}
	for rank, h := range res.Hits {
		fused[h.ID] += 1.0 / float64(rrfK+rank+1)
	}
	if qv != nil {
		for rank, id := range e.nearest(qv, n) {
			fused[id] += 1.0 / float64(rrfK+rank+1)
		}
	}
	hits := make([]Hit, 0, len(fused))
	for id, s := range fused {
		if it := e.items[id]; it != nil {
			hits = append(hits, Hit{Item: *it, Score: s})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].Item.Time.After(hits[j].Item.Time)
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits, nil
}

// nearest is the exact cosine scan: the ids of the n items most similar to
// the unit vector q, at least MinSimilarity, best first.
func (e *Embedded) nearest(q []float32, n int) []string {
	type sc struct {
		id string
		s  float32
	}
	min := float32(e.opts.MinSimilarity)
	var top []sc
	d := e.vecs.dim
	if d != len(q) {
		return nil
	}
	for r, id := range e.vecs.ids {
		s := dot(q, e.vecs.data[r*d:(r+1)*d])
		if s < min {
			continue
		}
		if len(top) < n {
			top = append(top, sc{id, s})
			if len(top) == n {
				sort.Slice(top, func(i, j int) bool { return top[i].s > top[j].s })
			}
			continue
		}
		if s <= top[n-1].s {
			continue
		}
		i := sort.Search(n, func(i int) bool { return top[i].s < s })
		copy(top[i+1:], top[i:n-1])
		top[i] = sc{id, s}
	}
	sort.Slice(top, func(i, j int) bool { return top[i].s > top[j].s })
	out := make([]string, len(top))
	for i, t := range top {
		out[i] = t.id
	}
	return out
}

// List implements Store.
func (e *Embedded) List(ctx context.Context, f Filter) ([]Item, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.items == nil {
		return nil, errors.New("memory: the store is closed")
	}
	var out []Item
	for _, it := range e.items {
		if f.match(it) {
			out = append(out, *it)
		}
	}
	sortNewestFirst(out)
	return out, nil
}

func sortNewestFirst(items []Item) {
	sort.Slice(items, func(i, j int) bool {
		if !items[i].Time.Equal(items[j].Time) {
			return items[i].Time.After(items[j].Time)
		}
		return items[i].ID < items[j].ID
	})
}

// Prune implements Store.
func (e *Embedded) Prune(ctx context.Context, f Filter) (int, error) {
	if f.empty() {
		return 0, errors.New("memory: prune needs a kind, an age or ids (refusing to forget everything)")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.items == nil {
		return 0, errors.New("memory: the store is closed")
	}
	var ids []string
	for id, it := range e.items {
		if f.match(it) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := e.p.DeleteMemories(ids); err != nil {
		return 0, err
	}
	batch := e.index.NewBatch()
	for _, id := range ids {
		batch.Delete(id)
		delete(e.items, id)
		e.vecs.remove(id)
	}
	if err := e.index.Batch(batch); err != nil {
		return len(ids), fmt.Errorf("memory: updating the index: %w", err)
	}
	return len(ids), nil
}

// Count implements Store.
func (e *Embedded) Count(ctx context.Context) (int, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.items == nil {
		return 0, errors.New("memory: the store is closed")
	}
	return len(e.items), nil
}

// Close releases the index; the items stay in the image.
func (e *Embedded) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.items == nil {
		return nil
	}
	e.items = nil
	return e.index.Close()
}

// openBatch is how many items OpenEmbedded indexes per bleve batch (each
// batch becomes a segment; fewer, larger ones index and search faster).
const openBatch = 1000

// storedItem is an item as the image keeps it: JSON, with the vector as
// base64 of its little-endian float32 bytes (half the size of a JSON
// array of numbers, and decoded without parsing floats).
type storedItem struct {
	Item
	Vec []byte `json:"vec,omitempty"`
}

func encodeItem(it *Item) ([]byte, error) {
	st := storedItem{Item: *it}
	if len(it.Vector) > 0 {
		st.Vec = make([]byte, 0, 4*len(it.Vector))
		for _, x := range it.Vector {
			st.Vec = binary.LittleEndian.AppendUint32(st.Vec, math.Float32bits(x))
		}
	}
	return json.Marshal(st)
}

func decodeItem(v []byte) (Item, error) {
	var st storedItem
	if err := json.Unmarshal(v, &st); err != nil {
		return Item{}, err
	}
	if len(st.Vec)%4 != 0 {
		return Item{}, fmt.Errorf("vector of %d bytes is not float32s", len(st.Vec))
	}
	if len(st.Vec) > 0 {
		st.Item.Vector = make([]float32, len(st.Vec)/4)
		for i := range st.Item.Vector {
			st.Item.Vector[i] = math.Float32frombits(binary.LittleEndian.Uint32(st.Vec[4*i:]))
		}
	}
	return st.Item, nil
}
