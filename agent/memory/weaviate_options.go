package memory

// The Weaviate backend's options, in every build: weaviate.go is the
// backend, weaviate_guest.go its absence from the guest build (tag
// phoenix_guest).

import "log/slog"

// WeaviateOptions configure the Weaviate backend.
type WeaviateOptions struct {
	URL   string // e.g. http://127.0.0.1:8080
	Class string // the collection; "" means DefaultWeaviateClass
	// KeyEnv names the environment variable holding Weaviate's API key;
	// "" or an empty variable means anonymous access.
	KeyEnv        string
	Embedder      Embedder // nil: BM25 only
	MinSimilarity float64  // 0 means DefaultMinSimilarity
	// Alpha weighs the vector part of the hybrid search (0 = BM25 only,
	// 1 = vectors only); 0 means 0.5.
	Alpha float32
	Log   *slog.Logger
}

// DefaultWeaviateClass is the collection the memory uses by default.
const DefaultWeaviateClass = "PhoenixMemory"
