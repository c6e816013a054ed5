package vm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScripts runs the language-level tests in testdata/*.lua (the
// starlark-go pattern). A script is a sequence of chunks separated by lines
// starting with "---"; each chunk is one top-level evaluation (one
// transaction). Words after "---" are directives for the next chunk:
//
//	--- error: TEXT   the chunk must fail with an error containing TEXT
//	--- reopen        reopen the VM from the store first (a restart)
//	--- budget: DUR   run with this time budget
//	--- output: TEXT  print output of the chunk must contain TEXT
//
// Chunks use assert(cond, msg) and the helper eq(a, b) defined below.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".lua"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			runScript(t, file, string(data))
		})
	}
}

const scriptPrelude = `
function eq(a, b, msg)
  if a ~= b then
    error((msg or "eq") .. ": expected " .. tostring(b) .. ", got " .. tostring(a), 2)
  end
end
`

type chunk struct {
	line       int
	src        string
	directives []string
}

func splitChunks(src string) []chunk {
	var out []chunk
	cur := chunk{line: 1}
	var body []string
	for i, l := range strings.Split(src, "\n") {
		if strings.HasPrefix(l, "---") {
			cur.src = strings.Join(body, "\n")
			out = append(out, cur)
			cur = chunk{line: i + 2}
			body = nil
			for _, d := range strings.Split(strings.TrimSpace(strings.TrimPrefix(l, "---")), ";") {
				if d = strings.TrimSpace(d); d != "" {
					cur.directives = append(cur.directives, d)
				}
			}
			continue
		}
		body = append(body, l)
	}
	cur.src = strings.Join(body, "\n")
	return append(out, cur)
}

func runScript(t *testing.T, file, src string) {
	st := NewMemStore()
	var out strings.Builder
	v, err := Create(Options{Store: st, Transcript: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { v.Close() }()
	if _, err := v.Eval(context.Background(), scriptPrelude, EvalOptions{NoExpr: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range splitChunks(src) {
		if strings.TrimSpace(c.src) == "" && len(c.directives) == 0 {
			continue
		}
		opt := EvalOptions{Name: filepath.Base(file), NoExpr: true}
		wantErr, wantOut := "", ""
		for _, d := range c.directives {
			switch {
			case d == "reopen":
				v.Close()
				v, err = Open(Options{Store: st, Transcript: &out})
				if err != nil {
					t.Fatalf("%s:%d: reopen: %v", file, c.line, err)
				}
			case strings.HasPrefix(d, "error:"):
				wantErr = strings.TrimSpace(strings.TrimPrefix(d, "error:"))
			case strings.HasPrefix(d, "output:"):
				wantOut = strings.TrimSpace(strings.TrimPrefix(d, "output:"))
			case strings.HasPrefix(d, "budget:"):
				dur, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(d, "budget:")))
				if err != nil {
					t.Fatalf("%s:%d: %v", file, c.line, err)
				}
				opt.Budget = dur
			default:
				t.Fatalf("%s:%d: unknown directive %q", file, c.line, d)
			}
		}
		// Keep line numbers of the file in error messages.
		code := strings.Repeat("\n", c.line-1) + c.src
		out.Reset()
		_, err := v.Eval(context.Background(), code, opt)
		switch {
		case wantErr == "" && err != nil:
			detail := err.Error()
			if e, ok := err.(*Error); ok {
				detail = e.Detail()
			}
			t.Errorf("%s:%d: unexpected error: %s", file, c.line, detail)
		case wantErr != "" && err == nil:
			t.Errorf("%s:%d: expected an error containing %q, got success", file, c.line, wantErr)
		case wantErr != "" && !strings.Contains(errDetail(err), wantErr):
			t.Errorf("%s:%d: expected an error containing %q, got: %s", file, c.line, wantErr, errDetail(err))
		}
		if wantOut != "" && !strings.Contains(out.String(), wantOut) {
			t.Errorf("%s:%d: expected output containing %q, got %q", file, c.line, wantOut, out.String())
		}
	}
}

func errDetail(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Detail()
	}
	return err.Error()
}
