//go:build !phoenix_guest

package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/google/uuid"
	"github.com/weaviate/weaviate-go-client/v4/weaviate"
	"github.com/weaviate/weaviate-go-client/v4/weaviate/filters"
	"github.com/weaviate/weaviate-go-client/v4/weaviate/graphql"
	"github.com/weaviate/weaviate/entities/models"
)

// Weaviate is the Store on a Weaviate server: items are objects of one
// class with our vectors (vectorizer "none"); Search is a hybrid query.
type Weaviate struct {
	c     *weaviate.Client
	class string
	opts  WeaviateOptions
	log   *slog.Logger
	where string // for messages: class at host
}

var _ Store = (*Weaviate)(nil)

var weaviateNS = uuid.MustParse("6f1c5a3e-2a4b-4c59-9f7e-5d1b2c3a4e50")

func weaviateUUID(id string) string { return uuid.NewSHA1(weaviateNS, []byte(id)).String() }

var weaviateFields = []string{"itemId", "kind", "object", "selector", "source", "purpose", "time"}

// OpenWeaviate connects to the server at opts.URL and creates the class if
// it does not exist.
func OpenWeaviate(ctx context.Context, opts WeaviateOptions) (*Weaviate, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("memory: Weaviate URL %q: want http://HOST:PORT or https://HOST:PORT", opts.URL)
	}
	if opts.Class == "" {
		opts.Class = DefaultWeaviateClass
	}
	if c := opts.Class[0]; c < 'A' || c > 'Z' {
		return nil, fmt.Errorf("memory: Weaviate class %q: must start with a capital letter", opts.Class)
	}
	if opts.MinSimilarity == 0 {
		opts.MinSimilarity = DefaultMinSimilarity
	}
	if opts.Alpha == 0 {
		opts.Alpha = 0.5
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := weaviate.Config{Host: u.Host, Scheme: u.Scheme, Timeout: 60 * time.Second}
	if opts.KeyEnv != "" {
		if key := os.Getenv(opts.KeyEnv); key != "" {
			cfg.Headers = map[string]string{"Authorization": "Bearer " + key}
		}
	}
	c, err := weaviate.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("memory: Weaviate at %s: %w", u.Host, err)
	}
	w := &Weaviate{c: c, class: opts.Class, opts: opts, log: log, where: fmt.Sprintf("class %s at %s", opts.Class, u.Host)}
	exists, err := c.Schema().ClassExistenceChecker().WithClassName(opts.Class).Do(ctx)
	if err != nil {
		return nil, fmt.Errorf("memory: Weaviate %s: %w", w.where, err)
	}
	if !exists {
		text := func(name, tok string) *models.Property {
			return &models.Property{Name: name, DataType: []string{"text"}, Tokenization: tok}
		}
		class := &models.Class{
			Class:      opts.Class,
			Vectorizer: "none",
			VectorIndexConfig: map[string]any{
				"distance": "cosine",
			},
			Properties: []*models.Property{
				text("itemId", "field"), text("kind", "field"),
				text("object", "word"), text("selector", "word"),
				text("source", "word"), text("purpose", "word"),
				{Name: "time", DataType: []string{"date"}},
			},
		}
		if err := c.Schema().ClassCreator().WithClass(class).Do(ctx); err != nil {
			return nil, fmt.Errorf("memory: Weaviate %s: creating the class: %w", w.where, err)
		}
	}
	return w, nil
}

func (w *Weaviate) object(it *Item) *models.Object {
	o := &models.Object{
		Class: w.class,
		ID:    strfmt.UUID(weaviateUUID(it.ID)),
		Properties: map[string]any{
			"itemId": it.ID, "kind": string(it.Kind), "object": it.Object, "selector": it.Selector,
			"source": it.Source, "purpose": it.Purpose, "time": it.Time.Format(time.RFC3339Nano),
		},
	}
	if len(it.Vector) > 0 {
		o.Vector = models.C11yVector(it.Vector)
	}
	return o
}

// Remember implements Store.
func (w *Weaviate) Remember(ctx context.Context, it Item) (Item, error) {
	if err := prepare(&it); err != nil {
		return Item{}, err
	}
	if err := embedOne(ctx, w.opts.Embedder, &it); err != nil {
		w.log.Warn("memory: remembering without a vector", "id", it.ID, "err", err)
	}
	if err := w.RememberAll(ctx, []Item{it}); err != nil {
		return Item{}, err
	}
	return it, nil
}

// RememberAll stores items (with their vectors, if any) in batches of 500.
func (w *Weaviate) RememberAll(ctx context.Context, items []Item) error {
	for start := 0; start < len(items); start += 500 {
		end := min(start+500, len(items))
		var objs []*models.Object
		for i := start; i < end; i++ {
			it := &items[i]
			if err := prepare(it); err != nil {
				return err
			}
			if it.Vector != nil {
				it.Vector = normalize(it.Vector)
			}
			objs = append(objs, w.object(it))
		}
		res, err := w.c.Batch().ObjectsBatcher().WithObjects(objs...).Do(ctx)
		if err != nil {
			return fmt.Errorf("memory: Weaviate %s: storing items: %w", w.where, err)
		}
		for _, r := range res {
			if r.Result != nil && r.Result.Errors != nil && len(r.Result.Errors.Error) > 0 {
				return fmt.Errorf("memory: Weaviate %s: storing item %v: %s", w.where, r.Properties, r.Result.Errors.Error[0].Message)
			}
		}
	}
	return nil
}

func (w *Weaviate) fields(withScore bool) []graphql.Field {
	var fs []graphql.Field
	for _, f := range weaviateFields {
		fs = append(fs, graphql.Field{Name: f})
	}
	add := []graphql.Field{{Name: "id"}}
	if withScore {
		add = append(add, graphql.Field{Name: "score"})
	}
	return append(fs, graphql.Field{Name: "_additional", Fields: add})
}

// get runs a Get query and decodes the objects.
func (w *Weaviate) get(ctx context.Context, gb *graphql.GetBuilder) ([]map[string]any, error) {
	resp, err := gb.Do(ctx)
	if err != nil {
		return nil, fmt.Errorf("memory: Weaviate %s: %w", w.where, err)
	}
	if len(resp.Errors) > 0 {
		var msgs []string
		for _, e := range resp.Errors {
			msgs = append(msgs, e.Message)
		}
		return nil, fmt.Errorf("memory: Weaviate %s: %s", w.where, strings.Join(msgs, "; "))
	}
	get, _ := resp.Data["Get"].(map[string]any)
	list, _ := get[w.class].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, o := range list {
		if m, ok := o.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

func itemOf(m map[string]any) Item {
	s := func(k string) string { v, _ := m[k].(string); return v }
	it := Item{ID: s("itemId"), Kind: Kind(s("kind")), Object: s("object"), Selector: s("selector"), Source: s("source"), Purpose: s("purpose")}
	if t, err := time.Parse(time.RFC3339Nano, s("time")); err == nil {
		it.Time = t.UTC()
	}
	return it
}

func additional(m map[string]any, k string) string {
	a, _ := m["_additional"].(map[string]any)
	switch v := a[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return ""
}

// Search implements Store: a hybrid query (BM25 and our query vector, fused
// by rank) with an embedder, BM25 alone without one.
func (w *Weaviate) Search(ctx context.Context, query string, k int) ([]Hit, error) {
	if k <= 0 {
		return nil, nil
	}
	qv, err := embedQuery(ctx, w.opts.Embedder, query)
	if err != nil {
		w.log.Warn("memory: searching by BM25 alone", "err", err)
		qv = nil
	}
	gq := w.c.GraphQL()
	gb := gq.Get().WithClassName(w.class).WithFields(w.fields(true)...).WithLimit(k)
	props := []string{"purpose", "object", "selector", "source"}
	if qv != nil {
		gb = gb.WithHybrid(gq.HybridArgumentBuilder().WithQuery(query).WithVector(qv).
			WithAlpha(w.opts.Alpha).WithProperties(props).WithFusionType(graphql.Ranked).
			WithMaxVectorDistance(float32(1 - w.opts.MinSimilarity)))
	} else {
		gb = gb.WithBM25(gq.Bm25ArgBuilder().WithQuery(query).WithProperties(props...))
	}
	objs, err := w.get(ctx, gb)
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, 0, len(objs))
	for _, o := range objs {
		sc, _ := strconv.ParseFloat(additional(o, "score"), 64)
		hits = append(hits, Hit{Item: itemOf(o), Score: sc})
	}
	return hits, nil
}

// List implements Store, paging through the class with the cursor API.
func (w *Weaviate) List(ctx context.Context, f Filter) ([]Item, error) {
	var out []Item
	after := ""
	for {
		gb := w.c.GraphQL().Get().WithClassName(w.class).WithFields(w.fields(false)...).WithLimit(1000)
		if after != "" {
			gb = gb.WithAfter(after)
		}
		objs, err := w.get(ctx, gb)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			it := itemOf(o)
			if f.match(&it) {
				out = append(out, it)
			}
		}
		if len(objs) < 1000 {
			break
		}
		after = additional(objs[len(objs)-1], "id")
	}
	sortNewestFirst(out)
	return out, nil
}

func (w *Weaviate) whereOf(f Filter) *filters.WhereBuilder {
	var ops []*filters.WhereBuilder
	if f.Kind != "" {
		ops = append(ops, filters.Where().WithPath([]string{"kind"}).WithOperator(filters.Equal).WithValueText(string(f.Kind)))
	}
	if !f.OlderThan.IsZero() {
		ops = append(ops, filters.Where().WithPath([]string{"time"}).WithOperator(filters.LessThan).WithValueDate(f.OlderThan.UTC()))
	}
	if len(f.IDs) > 0 {
		ops = append(ops, filters.Where().WithPath([]string{"itemId"}).WithOperator(filters.ContainsAny).WithValueText(f.IDs...))
	}
	if len(ops) == 1 {
		return ops[0]
	}
	return filters.Where().WithOperator(filters.And).WithOperands(ops)
}

// Prune implements Store with batch deletes (each removes at most the
// server's query limit, so it repeats until nothing matches).
func (w *Weaviate) Prune(ctx context.Context, f Filter) (int, error) {
	if f.empty() {
		return 0, errors.New("memory: prune needs a kind, an age or ids (refusing to forget everything)")
	}
	total := 0
	for {
		res, err := w.c.Batch().ObjectsBatchDeleter().WithClassName(w.class).WithWhere(w.whereOf(f)).WithOutput("minimal").Do(ctx)
		if err != nil {
			return total, fmt.Errorf("memory: Weaviate %s: prune: %w", w.where, err)
		}
		if res.Results == nil || res.Results.Matches == 0 {
			return total, nil
		}
		total += int(res.Results.Successful)
		if res.Results.Failed > 0 {
			return total, fmt.Errorf("memory: Weaviate %s: prune: %d items could not be deleted", w.where, res.Results.Failed)
		}
	}
}

// Count implements Store.
func (w *Weaviate) Count(ctx context.Context) (int, error) {
	resp, err := w.c.GraphQL().Aggregate().WithClassName(w.class).
		WithFields(graphql.Field{Name: "meta", Fields: []graphql.Field{{Name: "count"}}}).Do(ctx)
	if err != nil {
		return 0, fmt.Errorf("memory: Weaviate %s: count: %w", w.where, err)
	}
	if len(resp.Errors) > 0 {
		return 0, fmt.Errorf("memory: Weaviate %s: count: %s", w.where, resp.Errors[0].Message)
	}
	agg, _ := resp.Data["Aggregate"].(map[string]any)
	list, _ := agg[w.class].([]any)
	if len(list) == 0 {
		return 0, nil
	}
	m, _ := list[0].(map[string]any)
	meta, _ := m["meta"].(map[string]any)
	n, _ := meta["count"].(float64)
	return int(n), nil
}

// Close implements Store; the client holds nothing that needs closing.
func (w *Weaviate) Close() error { return nil }
