package memory

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/agent/memory/weaviatetest"
)

func TestWeaviateConformance(t *testing.T) {
	srv := weaviatetest.Start(t)
	n := 0
	storeSuite(t, func(t *testing.T, e Embedder) Store {
		n++
		s, err := OpenWeaviate(context.Background(), WeaviateOptions{URL: srv.URL(), Class: fmt.Sprintf("Suite%d", n), Embedder: e})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestWeaviateBadConfigurationIsNamed(t *testing.T) {
	ctx := context.Background()
	if _, err := OpenWeaviate(ctx, WeaviateOptions{URL: "localhost:8080"}); err == nil || !strings.Contains(err.Error(), `Weaviate URL "localhost:8080"`) {
		t.Fatalf("URL without scheme: %v", err)
	}
	if _, err := OpenWeaviate(ctx, WeaviateOptions{URL: "http://127.0.0.1:1", Class: "lower"}); err == nil || !strings.Contains(err.Error(), `class "lower"`) {
		t.Fatalf("lower-case class: %v", err)
	}
	if _, err := OpenWeaviate(ctx, WeaviateOptions{URL: "http://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("nothing listening: %v", err)
	}
}
