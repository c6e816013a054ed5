package weaviatetest

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestMissingBinaryIsNamed(t *testing.T) {
	t.Setenv("PHOENIX_WEAVIATE_BIN", "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	_, err := Binary()
	if err == nil || !strings.Contains(err.Error(), "weaviate-v1.35.2/weaviate-server") || !strings.Contains(err.Error(), "scripts/deps.sh") {
		t.Fatalf("missing binary: %v", err)
	}
	t.Setenv("PHOENIX_WEAVIATE_BIN", filepath.Join(t.TempDir(), "nope"))
	if _, err := Binary(); err == nil || !strings.Contains(err.Error(), "$PHOENIX_WEAVIATE_BIN=") {
		t.Fatalf("missing $PHOENIX_WEAVIATE_BIN: %v", err)
	}
}

func TestStartServesOnLoopbackAndStops(t *testing.T) {
	s, err := Launch()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Host, "127.0.0.1:") {
		t.Fatalf("host %s", s.Host)
	}
	resp, err := http.Get(s.URL() + "/v1/meta")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("meta: %s", resp.Status)
	}
	s.Stop()
	if _, err := http.Get(s.URL() + "/v1/meta"); err == nil {
		t.Fatal("the server still answers after Stop")
	}
}
