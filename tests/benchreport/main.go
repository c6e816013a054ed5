// Command benchreport summarises `go test -bench ... -count N` output for
// Phoenix's performance anchors.
//
// It reads benchmark output on stdin and prints
//
//  1. a table of every benchmark (package, name without the -GOMAXPROCS
//     suffix, number of runs, and the median of every reported metric —
//     ns/op, B/op, allocs/op, MB/s and custom metrics such as sends/op —
//     each with its min–max spread in percent of the median), and
//  2. the ratios against the anchors named in the Phoenix performance issue
//     (sends vs plain gopher-lua, commits vs raw Pebble, open + first
//     evaluation at 10k and 1M objects, export/import throughput, the agent
//     loop, the desktop's browser frame, scroll heap and launch to first
//     frame, the remote eval round trip, retrieval from the agent's memory
//     at 10k and 100k items, embedded versus Weaviate), each with its
//     target and a PASS/MISS verdict.
//
// Missing benchmarks are reported as "not run". The exit status is 0 even
// when an anchor is missed (this is a report, not a gate); it is 1 when stdin
// holds no benchmark lines at all or contains a FAIL line.
//
// Usage:
//
//	go test -run '^$' -bench . -count 3 ./... | go run ./tests/benchreport
//
// This program may import only the standard library: it must build offline
// without golang.org/x/perf (benchstat), so it carries its own tiny parser.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// modulePrefix is trimmed from package paths in the table.
const modulePrefix = "github.com/phoenix-image/phoenix/"

// Benchmark collects every run of one benchmark in one package.
type Benchmark struct {
	Pkg  string
	Name string // e.g. "BenchmarkSendPhoenix", without the -GOMAXPROCS suffix
	// Runs holds one unit→value map per result line. The iteration count is
	// not a metric and is not stored.
	Runs []map[string]float64
	// Units lists the units in order of first appearance.
	Units []string
}

// Input is the parsed content of a `go test -bench` transcript.
type Input struct {
	Benchmarks []*Benchmark // in order of first appearance
	FailLines  []string     // lines starting with "FAIL" or "--- FAIL"
}

// Parse reads `go test -bench` output. Lines it does not understand (goos:,
// goarch:, cpu:, PASS, ok, log output, ...) are ignored; "pkg:" lines set
// the package of the benchmarks that follow.
func Parse(r io.Reader) (*Input, error) {
	in := &Input{}
	index := map[string]*Benchmark{}
	pkg := ""
	pending := "" // a benchmark name printed alone, its results on a later line
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "FAIL") || strings.HasPrefix(trimmed, "--- FAIL"):
			in.FailLines = append(in.FailLines, trimmed)
			continue
		case strings.HasPrefix(line, "pkg:"):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg:"))
			pending = ""
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var name string
		var rest []string
		if isBenchName(fields[0]) {
			name, rest = fields[0], fields[1:]
			if len(rest) == 0 {
				// The benchmark logged output; its result line follows.
				pending = name
				continue
			}
		} else if pending != "" {
			name, rest = pending, fields
		} else {
			continue
		}
		metrics, units, ok := parseResult(rest)
		if !ok {
			continue
		}
		pending = ""
		name = stripProcs(name)
		key := pkg + "\x00" + name
		b := index[key]
		if b == nil {
			b = &Benchmark{Pkg: pkg, Name: name}
			index[key] = b
			in.Benchmarks = append(in.Benchmarks, b)
		}
		for _, u := range units {
			if !contains(b.Units, u) {
				b.Units = append(b.Units, u)
			}
		}
		b.Runs = append(b.Runs, metrics)
	}
	return in, sc.Err()
}

func isBenchName(s string) bool {
	if !strings.HasPrefix(s, "Benchmark") {
		return false
	}
	// "Benchmark" followed by an upper-case letter, digit, '_' or '/' (as go
	// test requires), or nothing at all.
	r := strings.TrimPrefix(s, "Benchmark")
	if r == "" {
		return true
	}
	c := r[0]
	return c == '_' || c == '/' || c == '-' || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// parseResult parses "N v1 u1 v2 u2 ..." (iteration count, then value/unit
// pairs).
func parseResult(f []string) (map[string]float64, []string, bool) {
	if len(f) < 3 || len(f)%2 != 1 {
		return nil, nil, false
	}
	if _, err := strconv.ParseInt(f[0], 10, 64); err != nil {
		return nil, nil, false
	}
	m := map[string]float64{}
	var units []string
	for i := 1; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return nil, nil, false
		}
		u := f[i+1]
		if _, dup := m[u]; !dup {
			units = append(units, u)
		}
		m[u] = v
	}
	return m, units, true
}

// stripProcs removes the trailing -GOMAXPROCS suffix ("BenchmarkX-8" →
// "BenchmarkX").
func stripProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return name
	}
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' {
			return name
		}
	}
	return name[:i]
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Stat summarises one metric of one benchmark across its runs.
type Stat struct {
	Unit             string
	N                int // runs that reported this unit
	Median, Min, Max float64
}

// SpreadPct is (max−min)/median in percent (0 for a zero median).
func (s Stat) SpreadPct() float64 {
	if s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / math.Abs(s.Median) * 100
}

// Summary is the per-benchmark result of Summarise.
type Summary struct {
	Pkg, Name string
	Runs      int
	Stats     []Stat // ns/op first (if reported), then in order of appearance
}

// Stat returns the statistic for unit.
func (s *Summary) Stat(unit string) (Stat, bool) {
	if s == nil {
		return Stat{}, false
	}
	for _, st := range s.Stats {
		if st.Unit == unit {
			return st, true
		}
	}
	return Stat{}, false
}

// Summarise computes medians and spreads for every benchmark.
func Summarise(in *Input) []*Summary {
	var out []*Summary
	for _, b := range in.Benchmarks {
		s := &Summary{Pkg: b.Pkg, Name: b.Name, Runs: len(b.Runs)}
		units := append([]string(nil), b.Units...)
		sort.SliceStable(units, func(i, j int) bool { return units[i] == "ns/op" && units[j] != "ns/op" })
		for _, u := range units {
			var vs []float64
			for _, r := range b.Runs {
				if v, ok := r[u]; ok {
					vs = append(vs, v)
				}
			}
			s.Stats = append(s.Stats, stat(u, vs))
		}
		out = append(out, s)
	}
	return out
}

func stat(unit string, vs []float64) Stat {
	sort.Float64s(vs)
	n := len(vs)
	st := Stat{Unit: unit, N: n, Min: vs[0], Max: vs[n-1]}
	if n%2 == 1 {
		st.Median = vs[n/2]
	} else {
		st.Median = (vs[n/2-1] + vs[n/2]) / 2
	}
	return st
}

// find returns the first summary named name in any package (nil if absent).
func find(sums []*Summary, name string) *Summary {
	for _, s := range sums {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// AnchorRow is one line of the anchor section.
type AnchorRow struct {
	Label   string
	Inputs  string // the operands, e.g. "SendPhoenix 240.0 ms / SendPlain 183.5 ms"
	Value   string // formatted value, "not run" when an operand is missing
	Target  string // "≤ 1.25", "" when informational
	Verdict string // "PASS", "MISS (...)", "info" or "not run"
}

type cmp int

const (
	info cmp = iota
	le       // value ≤ target
	ge       // value ≥ target
	lt       // value < target
)

func (c cmp) String() string {
	return [...]string{"", "≤", "≥", "<"}[c]
}

// verdict judges v against target t; unit is appended to numbers ("" or " ms").
func verdict(c cmp, v, t float64, unit string) string {
	if c == info {
		return "info"
	}
	pass := (c == le && v <= t) || (c == ge && v >= t) || (c == lt && v < t)
	if pass {
		return "PASS"
	}
	prec := 2
	if unit != "" {
		prec = 1
	}
	vs, ts := fmtPair(v, t, prec)
	switch c {
	case ge:
		return fmt.Sprintf("MISS (%s%s < %s%s: %.0f%% under target)", vs, unit, ts, unit, (1-v/t)*100)
	case lt:
		return fmt.Sprintf("MISS (%s%s ≥ %s%s: %.0f%% over target)", vs, unit, ts, unit, (v/t-1)*100)
	default:
		return fmt.Sprintf("MISS (%s%s > %s%s: %.0f%% over target)", vs, unit, ts, unit, (v/t-1)*100)
	}
}

// fmtPair formats v and t with prec decimals, or more when prec decimals
// would make a missed target look equal to it.
func fmtPair(v, t float64, prec int) (string, string) {
	for p := prec; p < 6; p++ {
		a, b := strconv.FormatFloat(v, 'f', p, 64), strconv.FormatFloat(t, 'f', p, 64)
		if a != b {
			return a, b
		}
	}
	// Equal (e.g. a strict "<" bound hit exactly).
	return strconv.FormatFloat(v, 'f', prec, 64), strconv.FormatFloat(t, 'f', prec, 64)
}

func short(name string) string { return strings.TrimPrefix(name, "Benchmark") }

func nsop(s *Summary) (float64, bool) {
	st, ok := s.Stat("ns/op")
	return st.Median, ok
}

func notRun(names ...string) string {
	return "not run (" + strings.Join(names, ", ") + ")"
}

// ratioRow builds a row whose value is ns/op(num)/ns/op(den).
func ratioRow(sums []*Summary, label, numName, denName string, c cmp, target float64) AnchorRow {
	row := AnchorRow{Label: label}
	if c != info {
		row.Target = fmt.Sprintf("%s %.2f", c, target)
	}
	num, den := find(sums, numName), find(sums, denName)
	nv, nok := nsop(num)
	dv, dok := nsop(den)
	var missing []string
	if !nok {
		missing = append(missing, numName)
	}
	if !dok {
		missing = append(missing, denName)
	}
	if len(missing) > 0 {
		row.Value, row.Verdict = "not run", notRun(missing...)
		return row
	}
	v := nv / dv
	row.Inputs = fmt.Sprintf("%s %s / %s %s", short(numName), fmtDuration(nv), short(denName), fmtDuration(dv))
	row.Value = fmt.Sprintf("%.2f", v)
	row.Verdict = verdict(c, v, target, "")
	return row
}

// Anchors evaluates the targets of the Phoenix performance issue.
func Anchors(sums []*Summary) []AnchorRow {
	var rows []AnchorRow

	// 1. Sends.
	rows = append(rows, ratioRow(sums, "sends: Phoenix / plain", "BenchmarkSendPhoenix", "BenchmarkSendPlain", le, 1.25))
	if find(sums, "BenchmarkSendPlainBudget") != nil {
		rows = append(rows, ratioRow(sums, "sends: Phoenix / plain-with-budget", "BenchmarkSendPhoenix", "BenchmarkSendPlainBudget", info, 0))
	}

	// 2. Commits: throughput ratio = time(raw) / time(Phoenix).
	rows = append(rows, ratioRow(sums, "commits: Phoenix / raw Pebble throughput", "BenchmarkCommitRawPebble100k", "BenchmarkCommitPhoenix100k", ge, 0.70))
	if find(sums, "BenchmarkCommitRecords") != nil || find(sums, "BenchmarkRawPebbleBatch") != nil {
		rows = append(rows, ratioRow(sums, "commits (image): records / raw batch throughput", "BenchmarkRawPebbleBatch", "BenchmarkCommitRecords", info, 0))
	}

	// 3. Open + first evaluation.
	const maxOpenMs = 200
	for _, n := range []string{"BenchmarkOpenEval10k", "BenchmarkOpenEval1M"} {
		row := AnchorRow{Label: "open + first eval, " + strings.TrimPrefix(n, "BenchmarkOpenEval"), Target: fmt.Sprintf("< %d ms", maxOpenMs)}
		if v, ok := nsop(find(sums, n)); ok {
			ms := v / 1e6
			row.Inputs = short(n)
			row.Value = fmt.Sprintf("%.1f ms", ms)
			row.Verdict = verdict(lt, ms, maxOpenMs, " ms")
		} else {
			row.Value, row.Verdict = "not run", notRun(n)
		}
		rows = append(rows, row)
	}
	rows = append(rows, ratioRow(sums, "open + first eval, 1M / 10k", "BenchmarkOpenEval1M", "BenchmarkOpenEval10k", le, 1.5))

	// 4. Export/import throughput of the 1M image.
	for _, pair := range [][2]string{{"BenchmarkExport1M", "BenchmarkExport"}, {"BenchmarkImport1M", "BenchmarkImport"}} {
		label := strings.ToLower(short(pair[1])) + " 1M image"
		row := AnchorRow{Label: label, Verdict: "info"}
		name := pair[0]
		s := find(sums, name)
		if s == nil {
			name = pair[1]
			s = find(sums, name)
		}
		switch {
		case s == nil:
			row.Value, row.Verdict = "not run", notRun(pair[0], pair[1])
		default:
			row.Inputs = short(name)
			if name != pair[0] {
				row.Label = strings.ToLower(short(pair[1])) + " (fallback, image size unknown)"
			}
			if st, ok := s.Stat("MB/s"); ok {
				row.Value = fmt.Sprintf("%.1f MB/s", st.Median)
			} else if v, ok := nsop(s); ok {
				row.Value = fmtDuration(v) + "/op (no MB/s reported)"
			} else {
				row.Value = "no MB/s reported"
			}
		}
		rows = append(rows, row)
	}

	// Issue 2 of 5: the agent loop.
	for _, a := range []struct {
		name, label string
		limitMs     float64
	}{
		{"BenchmarkDNUToResultWarm", "send to installed result, warm gVisor pool", 300},
		{"BenchmarkDNUToResultCold", "send to installed result, cold sandbox", 0},
	} {
		row := AnchorRow{Label: a.label, Target: "-", Verdict: "info"}
		if a.limitMs > 0 {
			row.Target = fmt.Sprintf("< %.0f ms", a.limitMs)
		}
		if v, ok := nsop(find(sums, a.name)); ok {
			ms := v / 1e6
			row.Inputs = short(a.name)
			row.Value = fmt.Sprintf("%.1f ms", ms)
			if a.limitMs > 0 {
				row.Verdict = verdict(lt, ms, a.limitMs, " ms")
			}
		} else {
			row.Value, row.Verdict = "not run", notRun(a.name)
		}
		rows = append(rows, row)
	}
	if v, ok := nsop(find(sums, "BenchmarkValidateWarm")); ok && v > 0 {
		rows = append(rows, AnchorRow{Label: "validations per minute, warm pool", Inputs: "ValidateWarm", Value: fmt.Sprintf("%.0f", 60e9/v), Target: "-", Verdict: "info"})
	} else {
		rows = append(rows, AnchorRow{Label: "validations per minute, warm pool", Value: "not run", Target: "-", Verdict: notRun("BenchmarkValidateWarm")})
	}

	// Issue 3 of 5: the desktop.
	for _, a := range []struct {
		name, label string
		limitMs     float64
	}{
		{"BenchmarkBrowserFrame100k", "browser frame, 100k objects", 4},
		{"BenchmarkGUIFirstFrame1M", "launch to first frame, 1M objects", 1000},
	} {
		row := AnchorRow{Label: a.label, Target: fmt.Sprintf("< %g ms", a.limitMs)}
		if v, ok := nsop(find(sums, a.name)); ok {
			ms := v / 1e6
			row.Inputs = short(a.name)
			row.Value = fmt.Sprintf("%.2f ms", ms)
			row.Verdict = verdict(lt, ms, a.limitMs, " ms")
		} else {
			row.Value, row.Verdict = "not run", notRun(a.name)
		}
		rows = append(rows, row)
	}
	heap := AnchorRow{Label: "browser scroll heap, 100k", Target: "-", Verdict: "info"}
	if st, ok := find(sums, "BenchmarkBrowserScroll100k").Stat("heap-MB"); ok {
		heap.Inputs = "BrowserScroll100k heap-MB"
		heap.Value = fmt.Sprintf("%.1f MB", st.Median)
	} else {
		heap.Value, heap.Verdict = "not run", notRun("BenchmarkBrowserScroll100k")
	}
	rows = append(rows, heap)

	// Issue 4 of 5: booting under QEMU (TCG).
	rows = append(rows, bootAnchors(sums)...)
	rows = append(rows, remoteAnchors(sums)...)

	// Issue 5 of 5: environment personalities (no targets named; info).
	for _, a := range []struct{ name, label string }{
		{"BenchmarkPersonalityColdStart", "personality cold start + first command"},
		{"BenchmarkPersonalityWarmCommand", "personality warm command (runsc exec)"},
		{"BenchmarkPersonalityWarmCowsay", "personality warm cowsay"},
	} {
		row := AnchorRow{Label: a.label, Target: "-", Verdict: "info"}
		if v, ok := nsop(find(sums, a.name)); ok {
			row.Inputs = short(a.name)
			row.Value = fmt.Sprintf("%.1f ms", v/1e6)
		} else {
			row.Value, row.Verdict = "not run", notRun(a.name)
		}
		rows = append(rows, row)
	}
	rows = append(rows, ratioRow(sums, "personality: cold start / warm command", "BenchmarkPersonalityColdStart", "BenchmarkPersonalityWarmCommand", info, 0))

	// Issue 5 of 5: retrieval from the long-term memory (top 5, hybrid).
	for _, n := range []string{"10k", "100k"} {
		for _, be := range []string{"Embedded", "Weaviate"} {
			name := "BenchmarkMemorySearch" + be + n
			row := AnchorRow{Label: "memory search, " + strings.ToLower(be) + ", " + n + " items", Target: "-", Verdict: "info"}
			if v, ok := nsop(find(sums, name)); ok {
				row.Inputs = short(name)
				row.Value = fmt.Sprintf("%.2f ms", v/1e6)
			} else {
				row.Value, row.Verdict = "not run", notRun(name)
			}
			rows = append(rows, row)
		}
		rows = append(rows, ratioRow(sums, "memory search, Weaviate / embedded, "+n, "BenchmarkMemorySearchWeaviate"+n, "BenchmarkMemorySearchEmbedded"+n, info, 0))
	}
	rows = append(rows, ratioRow(sums, "memory search, embedded, 100k / 10k", "BenchmarkMemorySearchEmbedded100k", "BenchmarkMemorySearchEmbedded10k", info, 0))
	rows = append(rows, ratioRow(sums, "memory search, Weaviate, 100k / 10k", "BenchmarkMemorySearchWeaviate100k", "BenchmarkMemorySearchWeaviate10k", info, 0))

	// Opening the embedded memory: cold (rebuild the index cache), warm
	// (the cache is valid), warm with the vectors read for the cosine scan.
	for _, n := range []string{"10k", "100k"} {
		for _, o := range []struct{ label, bench string }{
			{"cold (rebuild)", "BenchmarkMemoryOpenEmbedded"},
			{"warm (cache)", "BenchmarkMemoryOpenEmbeddedWarm"},
			{"warm, with vectors", "BenchmarkMemoryOpenEmbeddedWarmVectors"},
		} {
			name := o.bench + n
			row := AnchorRow{Label: "memory open, " + o.label + ", " + n + " items", Target: "-", Verdict: "info"}
			if v, ok := nsop(find(sums, name)); ok {
				row.Inputs = short(name)
				row.Value = fmt.Sprintf("%.1f ms", v/1e6)
			} else {
				row.Value, row.Verdict = "not run", notRun(name)
			}
			rows = append(rows, row)
		}
		rows = append(rows, ratioRow(sums, "memory open, cold / warm, "+n, "BenchmarkMemoryOpenEmbedded"+n, "BenchmarkMemoryOpenEmbeddedWarm"+n, info, 0))
	}
	return rows
}

// bootAnchors are the rows of issue 4 of 5: the boot to READY (its phoenix
// part has a target) and the boot artifact's build.
func bootAnchors(sums []*Summary) []AnchorRow {
	const name = "BenchmarkBootToReady"
	s := find(sums, name)
	phx := AnchorRow{Label: "boot to READY, phoenix part (PID 1 to READY)", Target: "< 300 ms"}
	split := AnchorRow{Label: "boot to READY, firmware / kernel / total", Target: "-", Verdict: "info"}
	ms := func(unit string) (float64, bool) {
		st, ok := s.Stat(unit)
		return st.Median, ok
	}
	if v, ok := ms("phoenix-ms"); ok {
		phx.Inputs = short(name) + " phoenix-ms"
		phx.Value = fmt.Sprintf("%.0f ms", v)
		phx.Verdict = verdict(lt, v, 300, " ms")
	} else {
		phx.Value, phx.Verdict = "not run", notRun(name)
	}
	f, ok1 := ms("firmware-ms")
	k, ok2 := ms("kernel-ms")
	tot, ok3 := ms("total-ms")
	if ok1 && ok2 && ok3 {
		split.Inputs = short(name)
		split.Value = fmt.Sprintf("%.0f / %.0f / %.0f ms", f, k, tot)
	} else {
		split.Value, split.Verdict = "not run", notRun(name)
	}
	art := AnchorRow{Label: "boot artifact build, cold / warm", Target: "-", Verdict: "info"}
	cold, okc := nsop(find(sums, "BenchmarkBootArtifactCold"))
	warm, okw := nsop(find(sums, "BenchmarkBootArtifactWarm"))
	if okc && okw {
		art.Inputs = "BootArtifactCold / BootArtifactWarm"
		art.Value = fmtDuration(cold) + " / " + fmtDuration(warm)
	} else {
		art.Value, art.Verdict = "not run", notRun("BenchmarkBootArtifactCold", "BenchmarkBootArtifactWarm")
	}
	fwd := AnchorRow{Label: "remote eval round trip, through QEMU's port forward (TCG)", Target: "-", Verdict: "info"}
	if v, ok := nsop(find(sums, "BenchmarkRemoteEvalThroughQEMU")); ok {
		fwd.Inputs = "RemoteEvalThroughQEMU"
		fwd.Value = fmt.Sprintf("%.3f ms", v/1e6)
	} else {
		fwd.Value, fwd.Verdict = "not run", notRun("BenchmarkRemoteEvalThroughQEMU")
	}
	return []AnchorRow{phx, split, art, fwd}
}

// remoteAnchors are the remote protocol's (issue 5 of 5): one evaluation
// of a trivial expression over loopback, target < 1 ms median.
func remoteAnchors(sums []*Summary) []AnchorRow {
	const name, limitMs = "BenchmarkRemoteEvalLoopback", 1.0
	row := AnchorRow{Label: "remote eval round trip, loopback", Target: fmt.Sprintf("< %g ms", limitMs)}
	if v, ok := nsop(find(sums, name)); ok {
		ms := v / 1e6
		row.Inputs = short(name)
		row.Value = fmt.Sprintf("%.3f ms", ms)
		row.Verdict = verdict(lt, ms, limitMs, " ms")
	} else {
		row.Value, row.Verdict = "not run", notRun(name)
	}
	return []AnchorRow{row}
}

// fmtDuration formats nanoseconds with a human unit.
func fmtDuration(ns float64) string {
	switch a := math.Abs(ns); {
	case a >= 1e9:
		return fmt.Sprintf("%.3g s", ns/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.4g ms", ns/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.4g µs", ns/1e3)
	default:
		return fmt.Sprintf("%.4g ns", ns)
	}
}

// fmtValue formats a metric value compactly: integers as integers, others
// with up to four significant digits.
func fmtValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func fmtStat(st Stat) string {
	return fmt.Sprintf("%s [%.1f%%]", fmtValue(st.Median), st.SpreadPct())
}

var fixedUnits = []string{"ns/op", "B/op", "allocs/op", "MB/s"}

// Report writes the benchmark table and the anchor section to w.
func Report(w io.Writer, sums []*Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "package\tbenchmark\truns\tns/op\tB/op\tallocs/op\tMB/s\tother metrics")
	for _, s := range sums {
		pkg := strings.TrimPrefix(s.Pkg, modulePrefix)
		if pkg == "" {
			pkg = "-"
		}
		cells := []string{pkg, s.Name, strconv.Itoa(s.Runs)}
		for _, u := range fixedUnits {
			if st, ok := s.Stat(u); ok {
				cells = append(cells, fmtStat(st))
			} else {
				cells = append(cells, "-")
			}
		}
		var other []string
		for _, st := range s.Stats {
			if !contains(fixedUnits, st.Unit) {
				other = append(other, fmtValue(st.Median)+" "+st.Unit+fmt.Sprintf(" [%.1f%%]", st.SpreadPct()))
			}
		}
		cells = append(cells, strings.Join(other, "; "))
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "values are medians; [x%] is the min–max spread, (max−min)/median")
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Phoenix anchors")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "anchor\tmeasured\tvalue\ttarget\tverdict")
	for _, r := range Anchors(sums) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Label, dash(r.Inputs), r.Value, dash(r.Target), r.Verdict)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errNoBenchmarks is returned by run when stdin holds no benchmark lines.
var errNoBenchmarks = errors.New("benchreport: no benchmark lines on stdin")

// run is main without the process exit; it returns the exit status.
func run(stdin io.Reader, stdout, stderr io.Writer) int {
	in, err := Parse(stdin)
	if err != nil {
		fmt.Fprintln(stderr, "benchreport:", err)
		return 1
	}
	status := 0
	if len(in.Benchmarks) == 0 {
		fmt.Fprintln(stderr, errNoBenchmarks)
		status = 1
	} else if err := Report(stdout, Summarise(in)); err != nil {
		fmt.Fprintln(stderr, "benchreport:", err)
		return 1
	}
	if len(in.FailLines) > 0 {
		fmt.Fprintf(stderr, "benchreport: input contains %d FAIL line(s), first: %q\n", len(in.FailLines), in.FailLines[0])
		status = 1
	}
	return status
}

func main() {
	os.Exit(run(os.Stdin, os.Stdout, os.Stderr))
}
