//go:build phoenix_guest

package memory

import (
	"context"
	"fmt"
)

// Weaviate is not in the guest build (tag phoenix_guest): OpenWeaviate
// says so.
type Weaviate struct{ Store }

// OpenWeaviate fails in the guest build: it does not link the Weaviate
// client.
func OpenWeaviate(ctx context.Context, opts WeaviateOptions) (*Weaviate, error) {
	return nil, fmt.Errorf("memory: the Weaviate backend (Memory.backend = \"weaviate\", %s) is not in this phoenix: "+
		"it was built with the phoenix_guest tag (the QEMU guest's binary), which leaves Weaviate out; "+
		"use Memory.backend = \"embedded\" in the guest, or the host's phoenix for Weaviate", opts.URL)
}

// RememberAll is never reached: no *Weaviate is ever opened here.
func (w *Weaviate) RememberAll(ctx context.Context, items []Item) error {
	return fmt.Errorf("memory: the Weaviate backend is not in this phoenix (built with the phoenix_guest tag)")
}
