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
	"unsafe"

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
	Memory(id string) (value []byte, ok bool, err error)
}

// IndexCacher is what a Persister implements (as *image.Image does) to let
// the store keep its bleve index on disk between processes:
// MemoryIndexDir is the cache's directory ("" for none) and
// MemoryGeneration a value that changes with every PutMemories and
// DeleteMemories. See indexcache.go.
type IndexCacher interface {
	MemoryIndexDir() string
	MemoryGeneration() ([]byte, error)
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
// exact cosine scan over vectors, fused by reciprocal rank. The items stay
// in the image (Search reads its hits from there, List and Prune scan it);
// the store holds only the bleve index (on disk as a cache when the
// Persister is an IndexCacher, else in memory) and, with an embedder, the
// vectors in one slab.
type Embedded struct {
	p    Persister
	opts Options
	log  *slog.Logger

	mu     sync.RWMutex
	closed bool
	index  bleve.Index
	vecs   vectorSlab  // the items' vectors, contiguous for the scan (only with an embedder)
	cache  *indexCache // nil when the index is in memory only
	shared *indexCache // another store's cache on the same directory, in this process
	opened string      // how the index was opened: "cache", "rebuilt" or "memory" (tests)
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

// putBytes is put of a vector given as little-endian float32 bytes.
func (s *vectorSlab) putBytes(id string, b []byte) {
	d := len(b) / 4
	if s.row == nil {
		s.row = map[string]int{}
	}
	s.remove(id)
	if d == 0 {
		return
	}
	if s.dim == 0 {
		s.dim = d
	}
	if d != s.dim {
		return
	}
	s.row[id] = len(s.ids)
	s.ids = append(s.ids, id)
	start := len(s.data)
	s.data = append(s.data, make([]float32, d)...)
	if littleEndian {
		// The slab's floats as bytes: one copy, no per-element decode.
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&s.data[start])), 4*d), b)
		return
	}
	for i := range d {
		s.data[start+i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// littleEndian is whether float32s in memory are laid out as the image
// stores them.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

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

func indexMapping() mapping.IndexMapping {
	m := mapping.NewIndexMapping()
	m.ScoringModel = bleveindex.BM25Scoring
	m.DefaultAnalyzer = "en"
	return m
}

// newIndex creates an empty scorch index in dir, or in memory if dir is
// "". scorch is the index type that implements BM25 (bleve.NewMemOnly's
// upsidedown falls back to TF-IDF).
func newIndex(dir string) (bleve.Index, error) {
	return bleve.NewUsing(dir, indexMapping(), scorch.Name, scorch.Name, nil)
}

// OpenEmbedded opens the store on the items kept by p. If p is an
// IndexCacher whose cache is valid (it reflects the image's current
// memory generation, its files are intact and were written by this
// build's bleve), the index is opened from disk; otherwise it is rebuilt
// from the items (in the cache directory, or in memory when p keeps no
// cache) and the reason is logged. progress (may be nil) is called every
// openBatch items while rebuilding. With an embedder, the items' vectors
// are read from the image into the slab.
func OpenEmbedded(p Persister, opts Options, progress func(done int)) (*Embedded, error) {
	if opts.MinSimilarity == 0 {
		opts.MinSimilarity = DefaultMinSimilarity
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Embedded{p: p, opts: opts, log: log}
	if err := e.openIndex(progress); err != nil {
		return nil, err
	}
	return e, nil
}

// rebuild indexes every item kept by p into idx; with wantVecs it also
// fills the slab.
func (e *Embedded) rebuild(idx bleve.Index, wantVecs bool, progress func(int)) error {
	batch := idx.NewBatch()
	n := 0
	err := e.p.Memories(func(id string, v []byte) error {
		it, err := decodeItem(v)
		if err != nil {
			e.log.Warn("memory: skipping an undecodable item", "id", id, "err", err)
			return nil
		}
		if wantVecs {
			e.vecs.put(id, it.Vector)
		}
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
		return fmt.Errorf("memory: indexing the remembered items: %w", err)
	}
	if progress != nil {
		progress(n)
	}
	return nil
}

// loadVectors reads only the items' vectors from the image into the slab
// (the index came from the cache), decoding their bytes straight into it.
func (e *Embedded) loadVectors(items, dim int) error {
	if items > 0 && dim > 0 {
		e.vecs.data = make([]float32, 0, items*dim)
		e.vecs.ids = make([]string, 0, items)
		e.vecs.row = make(map[string]int, items)
	}
	scan := e.p.Memories
	if sc, ok := e.p.(interface {
		ScanMemories(fn func(id string, value []byte) error) error
	}); ok {
		scan = sc.ScanMemories // no copy of each value: the slab copies the vector
	}
	err := scan(func(id string, v []byte) error {
		if len(v) > 0 && v[0] == '{' { // the older format: parse it all
			if it, err := decodeItem(v); err == nil {
				e.vecs.put(id, it.Vector)
			}
			return nil
		}
		_, vec, err := splitItem(v)
		if err != nil {
			return nil // undecodable: not indexed either (see rebuild)
		}
		e.vecs.putBytes(id, vec)
		return nil
	})
	if err != nil {
		return fmt.Errorf("memory: loading the items' vectors: %w", err)
	}
	return nil
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
	if e.closed {
		return errors.New("memory: the store is closed")
	}
	e.beforeWrite()
	if err := e.p.PutMemories(vals); err != nil {
		return err
	}
	if err := e.index.Batch(batch); err != nil {
		e.indexFailed()
		return fmt.Errorf("memory: indexing: %w", err)
	}
	e.written()
	if e.opts.Embedder != nil {
		for i := range items {
			e.vecs.put(items[i].ID, items[i].Vector)
		}
	}
	return nil
}

// candidates is how many results each ranking contributes to the fusion.
func candidates(k int) int { return max(50, 5*k) }

// Search implements Store: BM25 (bleve) and, with an embedder, the cosine
// scan, fused by reciprocal rank. If embedding the query fails, BM25 alone
// answers and the failure is logged. The hits' items are read from the
// image.
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
	if e.closed {
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
	type scored struct {
		id string
		s  float64
	}
	ranked := make([]scored, 0, len(fused))
	for id, s := range fused {
		ranked = append(ranked, scored{id, s})
	}
	sort.Slice(ranked, func(i, j int) bool { return ranked[i].s > ranked[j].s })
	// Read the best k from the image, and those tied with the k-th (the
	// newer item wins a tie).
	hits := make([]Hit, 0, k)
	for i, r := range ranked {
		if i >= k && r.s < ranked[k-1].s {
			break
		}
		v, ok, err := e.p.Memory(r.id)
		if err != nil {
			return nil, fmt.Errorf("memory: reading hit %s: %w", r.id, err)
		}
		if !ok {
			continue
		}
		it, err := decodeItem(v)
		if err != nil {
			continue
		}
		it.ID = r.id
		hits = append(hits, Hit{Item: it, Score: r.s})
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

// scan calls fn with every decodable item of the image matching f.
func (e *Embedded) scan(f Filter, fn func(it *Item)) error {
	return e.p.Memories(func(id string, v []byte) error {
		it, err := decodeItem(v)
		if err != nil {
			return nil // skipped, as when indexing
		}
		it.ID = id
		if f.match(&it) {
			fn(&it)
		}
		return nil
	})
}

// List implements Store.
func (e *Embedded) List(ctx context.Context, f Filter) ([]Item, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, errors.New("memory: the store is closed")
	}
	var out []Item
	if err := e.scan(f, func(it *Item) { out = append(out, *it) }); err != nil {
		return nil, fmt.Errorf("memory: listing: %w", err)
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
	if e.closed {
		return 0, errors.New("memory: the store is closed")
	}
	var ids []string
	if err := e.scan(f, func(it *Item) { ids = append(ids, it.ID) }); err != nil {
		return 0, fmt.Errorf("memory: pruning: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	e.beforeWrite()
	if err := e.p.DeleteMemories(ids); err != nil {
		return 0, err
	}
	batch := e.index.NewBatch()
	for _, id := range ids {
		batch.Delete(id)
		e.vecs.remove(id)
	}
	if err := e.index.Batch(batch); err != nil {
		e.indexFailed()
		return len(ids), fmt.Errorf("memory: updating the index: %w", err)
	}
	e.written()
	return len(ids), nil
}

// Count implements Store: the items in the index (every decodable item of
// the image).
func (e *Embedded) Count(ctx context.Context) (int, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return 0, errors.New("memory: the store is closed")
	}
	n, err := e.index.DocCount()
	if err != nil {
		return 0, fmt.Errorf("memory: counting: %w", err)
	}
	return int(n), nil
}

// Close releases the index, and, if it is the image's cache and reflects
// the items, records that in the cache's manifest; the items stay in the
// image.
func (e *Embedded) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	items, _ := e.index.DocCount()
	dim := e.vecs.dim
	e.vecs = vectorSlab{}
	err := e.index.Close()
	if e.cache != nil {
		e.cache.close(err == nil, int(items), dim, e.log)
	}
	return err
}

// openBatch is how many items OpenEmbedded indexes per bleve batch (each
// batch becomes a segment; fewer, larger ones index and search faster).
const openBatch = 5000

// An item as the image keeps it: the byte itemFormat, the length of
// the item's JSON (uvarint), the JSON (without the vector) and the vector's
// little-endian float32 bytes, so that loading the vectors (decodeVector)
// skips the JSON. Items written before this format are JSON with the
// vector as base64 bytes in "vec"; they still decode.
const itemFormat = 1

// storedItem is the JSON of an item (Vec only in the older format).
type storedItem struct {
	Item
	Vec []byte `json:"vec,omitempty"`
}

func encodeItem(it *Item) ([]byte, error) {
	js, err := json.Marshal(storedItem{Item: *it})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+binary.MaxVarintLen64+len(js)+4*len(it.Vector))
	out = append(out, itemFormat)
	out = binary.AppendUvarint(out, uint64(len(js)))
	out = append(out, js...)
	for _, x := range it.Vector {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
	}
	return out, nil
}

// splitItem returns an item's JSON and vector bytes.
func splitItem(v []byte) (js, vec []byte, err error) {
	if len(v) == 0 {
		return nil, nil, errors.New("empty item")
	}
	if v[0] == '{' {
		return v, nil, nil // the older format
	}
	if v[0] != itemFormat {
		return nil, nil, fmt.Errorf("unknown item format %d", v[0])
	}
	n, k := binary.Uvarint(v[1:])
	if k <= 0 || n > uint64(len(v)-1-k) {
		return nil, nil, errors.New("truncated item")
	}
	js, vec = v[1+k:1+k+int(n)], v[1+k+int(n):]
	if len(vec)%4 != 0 {
		return nil, nil, fmt.Errorf("vector of %d bytes is not float32s", len(vec))
	}
	return js, vec, nil
}

func floats(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func decodeItem(v []byte) (Item, error) {
	js, vec, err := splitItem(v)
	if err != nil {
		return Item{}, err
	}
	var st storedItem
	if err := json.Unmarshal(js, &st); err != nil {
		return Item{}, err
	}
	if len(st.Vec) > 0 {
		vec = st.Vec
	}
	if len(vec)%4 != 0 {
		return Item{}, fmt.Errorf("vector of %d bytes is not float32s", len(vec))
	}
	st.Item.Vector = floats(vec)
	return st.Item, nil
}
