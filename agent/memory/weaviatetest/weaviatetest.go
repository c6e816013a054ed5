// Package weaviatetest starts a real weaviate-server for tests and
// benchmarks: the pinned binary that scripts/deps.sh builds into
// ${XDG_CACHE_HOME:-$HOME/.cache}/phoenix/weaviate-v1.35.2/ (or the one
// named by $PHOENIX_WEAVIATE_BIN), on free loopback ports with a temporary
// data directory, stopped when the test ends. A missing binary fails the
// test with a message saying how to build it.
//
// It may import the standard library and testing only.
package weaviatetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Version is the weaviate-server the tests run.
const Version = "v1.35.2"

// Server is a running weaviate-server.
type Server struct {
	Host    string // 127.0.0.1:PORT, for weaviate.Config.Host
	cmd     *exec.Cmd
	out     *syncBuffer
	dir     string
	exited  chan struct{}
	waitErr error
}

// syncBuffer collects the server's output; the process writes while a
// failing test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}

// URL is the server's base URL, e.g. http://127.0.0.1:PORT.
func (s *Server) URL() string { return "http://" + s.Host }

// Binary returns the path of the weaviate-server binary, or an error that
// says how to build it.
func Binary() (string, error) {
	if p := os.Getenv("PHOENIX_WEAVIATE_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("weaviatetest: $PHOENIX_WEAVIATE_BIN=%s: %w", p, err)
		}
		return p, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("weaviatetest: no cache directory: %w", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "phoenix", "weaviate-"+Version, "weaviate-server")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("weaviatetest: weaviate-server %s is not built at %s (run scripts/deps.sh, or make deps; it takes several minutes once)", Version, p)
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freePair returns a port p such that p and p+1 are free: Weaviate
// expects the cluster's data port next to its gossip port, and Raft's
// internal RPC port next to the Raft port.
func freePair() (int, error) {
	for range 50 {
		p, err := freePort()
		if err != nil {
			return 0, err
		}
		if p >= 65535 {
			continue
		}
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1)); err == nil {
			l.Close()
			return p, nil
		}
	}
	return 0, errors.New("no two adjacent free ports")
}

// Start starts a weaviate-server and waits until it is ready (about 10 s).
// It is stopped by tb.Cleanup. It fails tb if the binary is missing or the
// server does not become ready within a minute.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := Launch()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Launch starts a weaviate-server and waits until it is ready, for callers
// without a testing.TB (e.g. benchmarks sharing one server from TestMain).
// The caller must Stop it.
func Launch() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	ports := make([]int, 7)
	for _, i := range []int{0, 1, 6} {
		if ports[i], err = freePort(); err != nil {
			return nil, fmt.Errorf("weaviatetest: no free loopback port: %w", err)
		}
	}
	for _, i := range []int{2, 4} {
		if ports[i], err = freePair(); err != nil {
			return nil, fmt.Errorf("weaviatetest: no free loopback ports: %w", err)
		}
		ports[i+1] = ports[i] + 1
	}
	dir, err := os.MkdirTemp("", "weaviatetest-")
	if err != nil {
		return nil, fmt.Errorf("weaviatetest: %w", err)
	}
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(ports[0]), "--scheme", "http")
	cmd.Env = append(os.Environ(),
		"AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true",
		"PERSISTENCE_DATA_PATH="+filepath.Join(dir, "data"),
		"DEFAULT_VECTORIZER_MODULE=none",
		"ENABLE_MODULES=",
		"DISABLE_TELEMETRY=true",
		"LOG_LEVEL=warning",
		"CLUSTER_HOSTNAME=node1",
		"CLUSTER_ADVERTISE_ADDR=127.0.0.1",
		"CLUSTER_BIND_ADDR=127.0.0.1",
		"CLUSTER_IN_LOCALHOST=true",
		"RAFT_BOOTSTRAP_EXPECT=1",
		"GRPC_PORT="+strconv.Itoa(ports[1]),
		"CLUSTER_GOSSIP_BIND_PORT="+strconv.Itoa(ports[2]),
		"CLUSTER_DATA_BIND_PORT="+strconv.Itoa(ports[3]),
		"RAFT_PORT="+strconv.Itoa(ports[4]),
		"RAFT_JOIN=node1:"+strconv.Itoa(ports[4]),
		"RAFT_INTERNAL_RPC_PORT="+strconv.Itoa(ports[5]),
		"GO_PROFILING_PORT="+strconv.Itoa(ports[6]),
		"GO_PROFILING_DISABLE=true",
		"PROMETHEUS_MONITORING_ENABLED=false",
		// Write memtables to disk segments after 2 idle seconds (default
		// 60), so that a benchmark can wait for the state a long-running
		// server is in: searching unflushed memtables is 10-20x slower.
		"PERSISTENCE_MEMTABLES_FLUSH_IDLE_AFTER_SECONDS=2",
		"PERSISTENCE_FLUSH_IDLE_MEMTABLES_AFTER=2",
	)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("weaviatetest: starting %s: %w", bin, err)
	}
	s := &Server{Host: "127.0.0.1:" + strconv.Itoa(ports[0]), cmd: cmd, out: out, dir: dir, exited: make(chan struct{})}
	go func() { s.waitErr = cmd.Wait(); close(s.exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/v1/.well-known/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("weaviatetest: weaviate-server exited before it was ready (%v); its output:\n%s", s.waitErr, tail(out.Bytes()))
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("weaviatetest: weaviate-server on %s not ready after a minute; its output:\n%s", s.Host, tail(out.Bytes()))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 15 s) and removes
// its data directory.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	os.RemoveAll(s.dir)
}

func tail(b []byte) []byte {
	if len(b) > 4000 {
		return b[len(b)-4000:]
	}
	return b
}
