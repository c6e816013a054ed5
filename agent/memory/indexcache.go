package memory

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// The index cache: the embedded store keeps its bleve (scorch) index in
// the image's MemoryIndexDir, so that a process whose image's memory did
// not change opens it instead of re-indexing every item. The image stays
// the only source of truth: the cache is trusted only when its manifest
// (manifestName, written when the store closes) says it reflects the
// image's current memory generation, was written by this build's bleve,
// and lists exactly the files the directory holds, with their sizes and
// CRC-32C checksums. Anything else — no directory, no or a stale manifest,
// a changed, missing or extra file, an index bleve cannot open — makes the
// store delete the directory and rebuild it from the items, logging why.
//
// The first write of a session deletes the manifest before touching the
// index, so a process that dies afterwards leaves a cache the next one
// rebuilds; a session that only searches leaves it valid even if it never
// closes. Within one process a second store on the same image cannot share
// the directory (scorch holds it): it indexes in memory, and its writes
// mark the first store's cache stale so that no manifest is written for it.

// manifestName is the cache's manifest inside the index directory.
const manifestName = "phoenix-manifest.json"

// cacheFormat changes when what the cache holds changes (the mapping, the
// documents), making older caches rebuild.
const cacheFormat = 1

type manifest struct {
	Format     int    `json:"format"`
	Bleve      string `json:"bleve"`
	Generation string `json:"generation"`
	// Items and Dim size the vector slab before it is loaded (hints only).
	Items int             `json:"items"`
	Dim   int             `json:"dim,omitempty"`
	Files []manifestEntry `json:"files"`
}

type manifestEntry struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	CRC  uint32 `json:"crc32c"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// bleveVersion is the bleve module this binary was built with: a cache
// written by another version is rebuilt.
var bleveVersion = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/blevesearch/bleve/v2" {
				if m.Replace != nil {
					return m.Path + "@" + m.Version + "=>" + m.Replace.Path + "@" + m.Replace.Version
				}
				return m.Path + "@" + m.Version
			}
		}
	}
	return "unknown"
})

// indexCache is an open cache directory.
type indexCache struct {
	dir string
	p   IndexCacher
	gen []byte // the memory generation the index reflects

	mu      sync.Mutex
	dirty   bool // the manifest was removed for this session's writes
	stale   bool // the index may not reflect the items: write no manifest
	foreign bool // another store in this process wrote to the image
}

// openCaches are the cache directories open in this process.
var (
	openCachesMu sync.Mutex
	openCaches   = map[string]*indexCache{}
)

// openIndex opens or rebuilds the index (see the comment at the top).
func (e *Embedded) openIndex(progress func(int)) error {
	wantVecs := e.opts.Embedder != nil
	ic, _ := e.p.(IndexCacher)
	dir := ""
	if ic != nil {
		dir = ic.MemoryIndexDir()
	}
	if dir != "" {
		openCachesMu.Lock()
		if other := openCaches[dir]; other != nil {
			e.shared = other
			dir = ""
			e.log.Info("memory: the index cache is in use by another store in this process; indexing in memory", "dir", other.dir)
		} else {
			e.cache = &indexCache{dir: dir, p: ic}
			openCaches[dir] = e.cache
		}
		openCachesMu.Unlock()
	}
	if dir == "" {
		idx, err := newIndex("")
		if err != nil {
			return fmt.Errorf("memory: creating the search index: %w", err)
		}
		if err := e.rebuild(idx, wantVecs, progress); err != nil {
			idx.Close()
			return err
		}
		e.index, e.opened = idx, "memory"
		return nil
	}
	err := e.openCached(ic, dir, wantVecs, progress)
	if err != nil {
		e.cache.unregister()
	}
	return err
}

func (e *Embedded) openCached(ic IndexCacher, dir string, wantVecs bool, progress func(int)) error {
	start := time.Now()
	gen, err := ic.MemoryGeneration()
	if err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	e.cache.gen = gen
	m, why := checkCache(dir, hex.EncodeToString(gen))
	if why == "" {
		idx, err := bleve.Open(dir)
		if err == nil {
			if wantVecs {
				if err := e.loadVectors(m.Items, m.Dim); err != nil {
					idx.Close()
					return err
				}
			}
			e.index, e.opened = idx, "cache"
			e.log.Debug("memory: opened the index cache", "dir", dir, "took", time.Since(start))
			return nil
		}
		why = fmt.Sprintf("bleve cannot open it: %v", err)
	}
	e.log.Info("memory: rebuilding the index cache", "dir", dir, "why", why)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("memory: removing the stale index cache %s: %w", dir, err)
	}
	idx, err := newIndex(dir)
	if err != nil {
		return fmt.Errorf("memory: creating the index cache %s: %w", dir, err)
	}
	e.vecs = vectorSlab{}
	e.cache.dirty = true // no manifest until Close
	if err := e.rebuild(idx, wantVecs, progress); err != nil {
		idx.Close()
		os.RemoveAll(dir)
		return err
	}
	e.index, e.opened = idx, "rebuilt"
	n, _ := idx.DocCount()
	e.log.Info("memory: rebuilt the index cache", "dir", dir, "items", n, "took", time.Since(start))
	return nil
}

// checkCache returns the manifest of the cache in dir and says why the
// cache cannot be used for generation gen ("" if it can).
func checkCache(dir, gen string) (m manifest, why string) {
	why = checkCache1(dir, gen, &m)
	return m, why
}

func checkCache1(dir, gen string, m *manifest) string {
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return "there is none"
		}
		return "it has no manifest (a session that wrote to it did not close)"
	}
	if err != nil {
		return fmt.Sprintf("reading its manifest: %v", err)
	}
	if err := json.Unmarshal(data, m); err != nil {
		return fmt.Sprintf("its manifest is corrupt: %v", err)
	}
	switch {
	case m.Format != cacheFormat:
		return fmt.Sprintf("it has format %d, this build writes %d", m.Format, cacheFormat)
	case m.Bleve != bleveVersion():
		return fmt.Sprintf("it was written by %s, this build has %s", m.Bleve, bleveVersion())
	case m.Generation != gen:
		return "the image's memory changed since it was written"
	}
	files, err := cacheFiles(dir)
	if err != nil {
		return fmt.Sprintf("reading it: %v", err)
	}
	if len(files) != len(m.Files) {
		return fmt.Sprintf("it holds %d files, its manifest lists %d", len(files), len(m.Files))
	}
	for i, f := range files {
		if f != m.Files[i] {
			return fmt.Sprintf("file %s differs from its manifest", m.Files[i].Name)
		}
	}
	return ""
}

// cacheFiles lists the regular files under dir (but the manifest) with
// their sizes and checksums, sorted by name.
func cacheFiles(dir string) ([]manifestEntry, error) {
	var out []manifestEntry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == manifestName {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h := crc32.New(castagnoli)
		n, err := io.Copy(h, f)
		if err != nil {
			return err
		}
		out = append(out, manifestEntry{Name: filepath.ToSlash(rel), Size: n, CRC: h.Sum32()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// beforeWrite runs (under e.mu) before a write to the image: the first one
// of a session removes the manifest; a store without the cache marks the
// one that has it stale.
func (e *Embedded) beforeWrite() {
	if e.shared != nil {
		e.shared.mu.Lock()
		e.shared.foreign = true
		e.shared.mu.Unlock()
	}
	if c := e.cache; c != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.dirty {
			if err := os.Remove(filepath.Join(c.dir, manifestName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				e.log.Warn("memory: cannot invalidate the index cache; it will not be trusted", "dir", c.dir, "err", err)
				c.stale = true
			}
			syncDir(c.dir)
			c.dirty = true
		}
	}
}

// written runs (under e.mu) after a write to the image and the index: it
// notes the generation the index now reflects (read here, not at Close,
// which may come after the image closed).
func (e *Embedded) written() {
	if c := e.cache; c != nil {
		gen, err := c.p.MemoryGeneration()
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			e.log.Warn("memory: reading the memory generation; the index cache will not be trusted", "err", err)
			c.stale = true
			return
		}
		c.gen = gen
	}
}

// indexFailed runs when the image was written but the index could not be
// updated to match.
func (e *Embedded) indexFailed() {
	if c := e.cache; c != nil {
		c.mu.Lock()
		c.stale = true
		c.mu.Unlock()
	}
}

// close runs after the index closed: it writes the manifest if the index
// reflects the image's memory, and frees the directory for another store.
func (c *indexCache) close(closedOK bool, items, dim int, log *slog.Logger) {
	defer c.unregister()
	c.mu.Lock()
	stale := c.stale || c.foreign || !closedOK
	c.mu.Unlock()
	if stale {
		log.Info("memory: the index cache may not reflect the items; the next open rebuilds it", "dir", c.dir)
		return
	}
	if err := writeManifest(c.dir, manifest{Generation: hex.EncodeToString(c.gen), Items: items, Dim: dim}); err != nil {
		log.Warn("memory: writing the index cache's manifest (the next open rebuilds it)", "dir", c.dir, "err", err)
	}
}

func (c *indexCache) unregister() {
	openCachesMu.Lock()
	if openCaches[c.dir] == c {
		delete(openCaches, c.dir)
	}
	openCachesMu.Unlock()
}

func writeManifest(dir string, m manifest) error {
	files, err := cacheFiles(dir)
	if err != nil {
		return err
	}
	m.Format, m.Bleve, m.Files = cacheFormat, bleveVersion(), files
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, manifestName+".tmp")
	if err := writeSynced(tmp, data); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, manifestName)); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(dir)
	return nil
}

func writeSynced(name string, data []byte) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
