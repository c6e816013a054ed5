package memory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/phoenix-image/phoenix/image"
)

// Kind is what an item remembers.
type Kind string

const (
	KindMethod       Kind = "method"       // an accepted (installed) method and what it was for
	KindConversation Kind = "conversation" // a shell or chat turn: the request and the answer
	KindPlan         Kind = "plan"         // a plan the planner showed: the goal and its steps
)

// ParseKind checks a kind named by a person (e.g. on the command line).
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(strings.TrimSpace(s))); k {
	case KindMethod, KindConversation, KindPlan:
		return k, nil
	}
	return "", fmt.Errorf("memory: kind %q: must be method, conversation or plan", s)
}

// Item is one remembered thing.
type Item struct {
	ID       string    `json:"id"`
	Kind     Kind      `json:"kind"`
	Object   string    `json:"object,omitempty"`   // e.g. "Account"
	Selector string    `json:"selector,omitempty"` // e.g. "withdraw"
	Source   string    `json:"source,omitempty"`   // a method's source, a plan's steps, a conversation's answer
	Purpose  string    `json:"purpose,omitempty"`  // what it was for: the request, the goal, the message not understood
	Time     time.Time `json:"time"`
	// Vector is the item's embedding (nil without an embedder). It is
	// kept with the item so that a restart does not embed again (in the
	// image as little-endian float32 bytes; see encodeItem).
	Vector []float32 `json:"-"`
}

// Text is what is indexed and embedded: the purpose, the object and
// selector, and the source.
func (it *Item) Text() string {
	var sb strings.Builder
	sb.WriteString(it.Purpose)
	if it.Object != "" || it.Selector != "" {
		sb.WriteString("\n" + it.Object + ":" + it.Selector)
	}
	if it.Source != "" {
		sb.WriteString("\n" + it.Source)
	}
	return sb.String()
}

// Hit is an item a search found, with its score (higher is better; the
// scale depends on the backend).
type Hit struct {
	Item  Item
	Score float64
}

// Filter selects items for List and Prune. Zero fields match everything;
// a Prune with an empty filter is refused.
type Filter struct {
	Kind      Kind
	OlderThan time.Time // items remembered before this time
	IDs       []string
}

func (f Filter) empty() bool { return f.Kind == "" && f.OlderThan.IsZero() && len(f.IDs) == 0 }

func (f Filter) match(it *Item) bool {
	if f.Kind != "" && it.Kind != f.Kind {
		return false
	}
	if !f.OlderThan.IsZero() && !it.Time.Before(f.OlderThan) {
		return false
	}
	if len(f.IDs) > 0 {
		for _, id := range f.IDs {
			if id == it.ID {
				return true
			}
		}
		return false
	}
	return true
}

// Store is a long-term memory. Implementations are safe for concurrent use.
type Store interface {
	// Remember stores it and returns it as stored: a new ID if it had
	// none, Time now if zero, and its vector when an embedder is
	// configured. An item with the ID of a stored one replaces it.
	Remember(ctx context.Context, it Item) (Item, error)
	// Search returns at most k items most relevant to query, best first.
	Search(ctx context.Context, query string, k int) ([]Hit, error)
	// List returns the items that match f, newest first.
	List(ctx context.Context, f Filter) ([]Item, error)
	// Prune forgets the items that match f and says how many there were.
	Prune(ctx context.Context, f Filter) (int, error)
	// Count is the number of items remembered.
	Count(ctx context.Context) (int, error)
	Close() error
}

// Embedder turns texts into vectors, e.g. through an OpenAI-compatible
// /v1/embeddings endpoint.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// NewID returns a fresh item id: "m" and 16 hex digits.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "m" + hex.EncodeToString(b[:])
}

// prepare fills in the ID and time and checks the item.
func prepare(it *Item) error {
	if it.ID == "" {
		it.ID = NewID()
	}
	if err := checkID(it.ID); err != nil {
		return err
	}
	if _, err := ParseKind(string(it.Kind)); err != nil {
		return fmt.Errorf("memory: item %s: %w", it.ID, err)
	}
	if strings.TrimSpace(it.Text()) == "" {
		return fmt.Errorf("memory: item %s: nothing to remember (no purpose, object, selector or source)", it.ID)
	}
	if it.Time.IsZero() {
		it.Time = time.Now()
	}
	it.Time = it.Time.Round(0).UTC()
	return nil
}

// embedOne embeds the item's text if there is an embedder.
func embedOne(ctx context.Context, e Embedder, it *Item) error {
	if e == nil || it.Vector != nil {
		return nil
	}
	vs, err := e.Embed(ctx, []string{it.Text()})
	if err != nil {
		return fmt.Errorf("memory: embedding item %s: %w", it.ID, err)
	}
	if len(vs) != 1 || len(vs[0]) == 0 {
		return fmt.Errorf("memory: embedding item %s: the endpoint returned %d vectors", it.ID, len(vs))
	}
	it.Vector = normalize(vs[0])
	return nil
}

func embedQuery(ctx context.Context, e Embedder, q string) ([]float32, error) {
	if e == nil {
		return nil, nil
	}
	vs, err := e.Embed(ctx, []string{q})
	if err != nil {
		return nil, fmt.Errorf("memory: embedding the query: %w", err)
	}
	if len(vs) != 1 || len(vs[0]) == 0 {
		return nil, fmt.Errorf("memory: embedding the query: the endpoint returned %d vectors", len(vs))
	}
	return normalize(vs[0]), nil
}

func normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if s == 0 {
		return out
	}
	n := float32(1 / math.Sqrt(s))
	for i, x := range v {
		out[i] = x * n
	}
	return out
}

func checkID(id string) error {
	if err := image.CheckMemoryID(id); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	return nil
}
