package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// sample is a realistic `go test -bench . -count 3 ./vm/ ./image/ ./image/exportfmt/`
// transcript: three packages, sends MISS (1.30 > 1.25), commits PASS (0.83),
// OpenEval1M MISS, Import1M absent ("not run"), log output interleaved with
// a result line.
const sample = `goos: linux
goarch: amd64
pkg: github.com/phoenix-image/phoenix/vm
cpu: Intel(R) Xeon(R) CPU @ 2.20GHz
BenchmarkSendPhoenix-2         	       5	 240000000 ns/op	   1000000 sends/op	    5120 B/op	      40 allocs/op
BenchmarkSendPhoenix-2         	       5	 236000000 ns/op	   1000000 sends/op	    5100 B/op	      40 allocs/op
BenchmarkSendPhoenix-2         	       4	 250000000 ns/op	   1000000 sends/op	    5300 B/op	      41 allocs/op
BenchmarkSendPlain-2           	       6	 183000000 ns/op	   1000000 sends/op	    1024 B/op	      10 allocs/op
BenchmarkSendPlain-2           	       6	 185000000 ns/op	   1000000 sends/op	    1024 B/op	      10 allocs/op
BenchmarkSendPlain-2           	       6	 190000000 ns/op	   1000000 sends/op	    1024 B/op	      10 allocs/op
BenchmarkSendPlainBudget-2     	       5	 200000000 ns/op	   1000000 sends/op
BenchmarkSendPlainBudget-2     	       5	 210000000 ns/op	   1000000 sends/op
BenchmarkSendPlainBudget-2     	       5	 205000000 ns/op	   1000000 sends/op
PASS
ok  	github.com/phoenix-image/phoenix/vm	24.512s
goos: linux
goarch: amd64
pkg: github.com/phoenix-image/phoenix/image
cpu: Intel(R) Xeon(R) CPU @ 2.20GHz
BenchmarkCommitPhoenix100k-2   	      10	 120000000 ns/op	    100000 objects/op	 9000000 B/op	   300000 allocs/op
BenchmarkCommitPhoenix100k-2   	      10	 118000000 ns/op	    100000 objects/op	 9000000 B/op	   300000 allocs/op
BenchmarkCommitPhoenix100k-2   	      10	 125000000 ns/op	    100000 objects/op	 9000000 B/op	   300000 allocs/op
BenchmarkCommitRawPebble100k-2 	      12	 100000000 ns/op	    100000 objects/op
BenchmarkCommitRawPebble100k-2 	      12	  98000000 ns/op	    100000 objects/op
BenchmarkCommitRawPebble100k-2 	      12	 101000000 ns/op	    100000 objects/op
BenchmarkOpenEval10k-2         	      90	  12500000 ns/op
BenchmarkOpenEval10k-2         	      90	  12100000 ns/op
BenchmarkOpenEval10k-2         	      90	  13000000 ns/op
BenchmarkOpenEval1M-2
    bench_test.go:88: built 1000000 objects in 41.2s
       1	 260000000 ns/op
BenchmarkOpenEval1M-2          	       1	 255000000 ns/op
BenchmarkOpenEval1M-2          	       1	 270000000 ns/op
PASS
ok  	github.com/phoenix-image/phoenix/image	161.003s
goos: linux
goarch: amd64
pkg: github.com/phoenix-image/phoenix/image/exportfmt
cpu: Intel(R) Xeon(R) CPU @ 2.20GHz
BenchmarkExport1M-2            	       1	1500000000 ns/op	 120.50 MB/s
BenchmarkExport1M-2            	       1	1450000000 ns/op	 124.00 MB/s
BenchmarkExport1M-2            	       1	1600000000 ns/op	 112.25 MB/s
BenchmarkWrite/small-2         	   20000	     61234 ns/op	  33.10 MB/s	   4096 B/op	      12 allocs/op
BenchmarkWrite/small-2         	   20000	     60000 ns/op	  33.80 MB/s	   4096 B/op	      12 allocs/op
BenchmarkWrite/small-2         	   20000	     62000 ns/op	  32.70 MB/s	   4096 B/op	      12 allocs/op
PASS
ok  	github.com/phoenix-image/phoenix/image/exportfmt	9.876s
`

func summarise(t *testing.T, input string) []*Summary {
	t.Helper()
	in, err := Parse(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	return Summarise(in)
}

func mustFind(t *testing.T, sums []*Summary, name string) *Summary {
	t.Helper()
	s := find(sums, name)
	if s == nil {
		t.Fatalf("%s not found", name)
	}
	return s
}

func mustStat(t *testing.T, s *Summary, unit string) Stat {
	t.Helper()
	st, ok := s.Stat(unit)
	if !ok {
		t.Fatalf("%s: no %s", s.Name, unit)
	}
	return st
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestParse(t *testing.T) {
	in, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ pkg, name string }{
		{"github.com/phoenix-image/phoenix/vm", "BenchmarkSendPhoenix"},
		{"github.com/phoenix-image/phoenix/vm", "BenchmarkSendPlain"},
		{"github.com/phoenix-image/phoenix/vm", "BenchmarkSendPlainBudget"},
		{"github.com/phoenix-image/phoenix/image", "BenchmarkCommitPhoenix100k"},
		{"github.com/phoenix-image/phoenix/image", "BenchmarkCommitRawPebble100k"},
		{"github.com/phoenix-image/phoenix/image", "BenchmarkOpenEval10k"},
		{"github.com/phoenix-image/phoenix/image", "BenchmarkOpenEval1M"},
		{"github.com/phoenix-image/phoenix/image/exportfmt", "BenchmarkExport1M"},
		{"github.com/phoenix-image/phoenix/image/exportfmt", "BenchmarkWrite/small"},
	}
	if len(in.Benchmarks) != len(want) {
		t.Fatalf("got %d benchmarks, want %d", len(in.Benchmarks), len(want))
	}
	for i, w := range want {
		b := in.Benchmarks[i]
		if b.Pkg != w.pkg || b.Name != w.name || len(b.Runs) != 3 {
			t.Errorf("benchmark %d = %s %s (%d runs), want %s %s (3 runs)", i, b.Pkg, b.Name, len(b.Runs), w.pkg, w.name)
		}
	}
	if len(in.FailLines) != 0 {
		t.Errorf("FailLines = %q", in.FailLines)
	}
	if got := in.Benchmarks[0].Units; strings.Join(got, ",") != "ns/op,sends/op,B/op,allocs/op" {
		t.Errorf("units = %v", got)
	}
}

func TestMedians(t *testing.T) {
	sums := summarise(t, sample)
	cases := []struct {
		bench, unit      string
		median, min, max float64
	}{
		{"BenchmarkSendPhoenix", "ns/op", 240e6, 236e6, 250e6},
		{"BenchmarkSendPhoenix", "sends/op", 1e6, 1e6, 1e6},
		{"BenchmarkSendPhoenix", "B/op", 5120, 5100, 5300},
		{"BenchmarkSendPhoenix", "allocs/op", 40, 40, 41},
		{"BenchmarkSendPlain", "ns/op", 185e6, 183e6, 190e6},
		{"BenchmarkCommitPhoenix100k", "objects/op", 1e5, 1e5, 1e5},
		{"BenchmarkOpenEval1M", "ns/op", 260e6, 255e6, 270e6}, // includes the result after log output
		{"BenchmarkExport1M", "MB/s", 120.5, 112.25, 124},
		{"BenchmarkWrite/small", "ns/op", 61234, 60000, 62000},
	}
	for _, c := range cases {
		st := mustStat(t, mustFind(t, sums, c.bench), c.unit)
		if st.N != 3 || !near(st.Median, c.median) || !near(st.Min, c.min) || !near(st.Max, c.max) {
			t.Errorf("%s %s = %+v, want median %g min %g max %g over 3 runs", c.bench, c.unit, st, c.median, c.min, c.max)
		}
	}
	// Spread: (250-236)/240.
	if got := mustStat(t, mustFind(t, sums, "BenchmarkSendPhoenix"), "ns/op").SpreadPct(); !near(got, 14.0/240*100) {
		t.Errorf("spread = %g", got)
	}
	// ns/op comes first in Stats.
	if u := mustFind(t, sums, "BenchmarkExport1M").Stats[0].Unit; u != "ns/op" {
		t.Errorf("first stat = %s", u)
	}
}

func TestEvenMedian(t *testing.T) {
	sums := summarise(t, "BenchmarkX-8 10 100 ns/op\nBenchmarkX-8 10 300 ns/op\nBenchmarkX-8 10 200 ns/op\nBenchmarkX-8 10 1000 ns/op\n")
	st := mustStat(t, mustFind(t, sums, "BenchmarkX"), "ns/op")
	if st.Median != 250 || st.Min != 100 || st.Max != 1000 {
		t.Errorf("stat = %+v", st)
	}
}

func anchorsByLabel(rows []AnchorRow) map[string]AnchorRow {
	m := map[string]AnchorRow{}
	for _, r := range rows {
		m[r.Label] = r
	}
	return m
}

func TestAnchors(t *testing.T) {
	rows := anchorsByLabel(Anchors(summarise(t, sample)))
	want := map[string]struct{ value, target, verdict string }{
		// 240/185 = 1.297
		"sends: Phoenix / plain": {"1.30", "≤ 1.25", "MISS (1.30 > 1.25: 4% over target)"},
		// 240/205 = 1.171
		"sends: Phoenix / plain-with-budget": {"1.17", "", "info"},
		// 100/120 = 0.833
		"commits: Phoenix / raw Pebble throughput": {"0.83", "≥ 0.70", "PASS"},
		"open + first eval, 10k":                   {"12.5 ms", "< 200 ms", "PASS"},
		"open + first eval, 1M":                    {"260.0 ms", "< 200 ms", "MISS (260.0 ms ≥ 200.0 ms: 30% over target)"},
		// 260/12.5 = 20.8
		"open + first eval, 1M / 10k": {"20.80", "≤ 1.50", "MISS (20.80 > 1.50: 1287% over target)"},
		"export 1M image":             {"120.5 MB/s", "", "info"},
		"import 1M image":             {"not run", "", "not run (BenchmarkImport1M, BenchmarkImport)"},
		// the agent loop's anchors are absent from the sample
		"send to installed result, warm gVisor pool": {"not run", "< 300 ms", "not run (BenchmarkDNUToResultWarm)"},
		"send to installed result, cold sandbox":     {"not run", "-", "not run (BenchmarkDNUToResultCold)"},
		"validations per minute, warm pool":          {"not run", "-", "not run (BenchmarkValidateWarm)"},
		// so are the desktop's
		"browser frame, 100k objects":       {"not run", "< 4 ms", "not run (BenchmarkBrowserFrame100k)"},
		"browser scroll heap, 100k":         {"not run", "-", "not run (BenchmarkBrowserScroll100k)"},
		"launch to first frame, 1M objects": {"not run", "< 1000 ms", "not run (BenchmarkGUIFirstFrame1M)"},
		// and the boot's
		"boot to READY, phoenix part (PID 1 to READY)":              {"not run", "< 300 ms", "not run (BenchmarkBootToReady)"},
		"boot to READY, firmware / kernel / total":                  {"not run", "-", "not run (BenchmarkBootToReady)"},
		"boot artifact build, cold / warm":                          {"not run", "-", "not run (BenchmarkBootArtifactCold, BenchmarkBootArtifactWarm)"},
		"remote eval round trip, through QEMU's port forward (TCG)": {"not run", "-", "not run (BenchmarkRemoteEvalThroughQEMU)"},
		// and the remote protocol's
		"remote eval round trip, loopback": {"not run", "< 1 ms", "not run (BenchmarkRemoteEvalLoopback)"},

		// Issue 5 of 5: personalities.
		"personality cold start + first command": {"not run", "-", "not run (BenchmarkPersonalityColdStart)"},
		"personality warm command (runsc exec)":  {"not run", "-", "not run (BenchmarkPersonalityWarmCommand)"},
		"personality warm cowsay":                {"not run", "-", "not run (BenchmarkPersonalityWarmCowsay)"},
		"personality: cold start / warm command": {"not run", "", "not run (BenchmarkPersonalityColdStart, BenchmarkPersonalityWarmCommand)"},
	}
	// and the memory's (TestMemoryAnchors checks them with values)
	for _, n := range []string{"10k", "100k"} {
		for _, be := range []string{"Embedded", "Weaviate"} {
			want["memory search, "+strings.ToLower(be)+", "+n+" items"] = struct{ value, target, verdict string }{"not run", "-", "not run (BenchmarkMemorySearch" + be + n + ")"}
		}
		want["memory search, Weaviate / embedded, "+n] = struct{ value, target, verdict string }{"not run", "", "not run (BenchmarkMemorySearchWeaviate" + n + ", BenchmarkMemorySearchEmbedded" + n + ")"}
	}
	want["memory search, embedded, 100k / 10k"] = struct{ value, target, verdict string }{"not run", "", "not run (BenchmarkMemorySearchEmbedded100k, BenchmarkMemorySearchEmbedded10k)"}
	want["memory search, Weaviate, 100k / 10k"] = struct{ value, target, verdict string }{"not run", "", "not run (BenchmarkMemorySearchWeaviate100k, BenchmarkMemorySearchWeaviate10k)"}
	for _, n := range []string{"10k", "100k"} {
		for _, o := range [][2]string{{"cold (rebuild)", ""}, {"warm (cache)", "Warm"}, {"warm, with vectors", "WarmVectors"}} {
			want["memory open, "+o[0]+", "+n+" items"] = struct{ value, target, verdict string }{"not run", "-", "not run (BenchmarkMemoryOpenEmbedded" + o[1] + n + ")"}
		}
		want["memory open, cold / warm, "+n] = struct{ value, target, verdict string }{"not run", "", "not run (BenchmarkMemoryOpenEmbedded" + n + ", BenchmarkMemoryOpenEmbeddedWarm" + n + ")"}
	}
	for label, w := range want {
		r, ok := rows[label]
		if !ok {
			t.Errorf("no anchor row %q", label)
			continue
		}
		if r.Value != w.value || r.Target != w.target || r.Verdict != w.verdict {
			t.Errorf("%s: got value %q target %q verdict %q, want %q %q %q", label, r.Value, r.Target, r.Verdict, w.value, w.target, w.verdict)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("got %d anchor rows, want %d: %v", len(rows), len(want), rows)
	}
	if r := rows["sends: Phoenix / plain"]; r.Inputs != "SendPhoenix 240 ms / SendPlain 185 ms" {
		t.Errorf("inputs = %q", r.Inputs)
	}
}

func TestAnchorsMissingAndFallback(t *testing.T) {
	const input = `pkg: github.com/phoenix-image/phoenix/vm
BenchmarkSendPhoenix-4   	10	 100000000 ns/op
BenchmarkSendPlain-4     	10	  81000000 ns/op
pkg: github.com/phoenix-image/phoenix/image
BenchmarkCommitPhoenix100k-4  	10	 200000000 ns/op
BenchmarkCommitRawPebble100k-4	10	 130000000 ns/op
BenchmarkCommitRecords-4      	10	  50000000 ns/op
BenchmarkOpenEval10k-4        	10	 150000000 ns/op
BenchmarkExport-4             	10	  20000000 ns/op	 55.00 MB/s
BenchmarkImport-4             	10	  30000000 ns/op
`
	rows := anchorsByLabel(Anchors(summarise(t, input)))
	check := func(label, value, verdict string) {
		t.Helper()
		r, ok := rows[label]
		if !ok {
			t.Errorf("no row %q in %v", label, rows)
			return
		}
		if r.Value != value || r.Verdict != verdict {
			t.Errorf("%s: got %q %q, want %q %q", label, r.Value, r.Verdict, value, verdict)
		}
	}
	check("sends: Phoenix / plain", "1.23", "PASS") // 100/81 = 1.2346
	check("commits: Phoenix / raw Pebble throughput", "0.65", "MISS (0.65 < 0.70: 7% under target)")
	check("commits (image): records / raw batch throughput", "not run", "not run (BenchmarkRawPebbleBatch)")
	check("open + first eval, 10k", "150.0 ms", "PASS")
	check("open + first eval, 1M", "not run", "not run (BenchmarkOpenEval1M)")
	check("open + first eval, 1M / 10k", "not run", "not run (BenchmarkOpenEval1M)")
	check("export (fallback, image size unknown)", "55.0 MB/s", "info")
	check("import (fallback, image size unknown)", "30 ms/op (no MB/s reported)", "info")
	if _, ok := rows["sends: Phoenix / plain-with-budget"]; ok {
		t.Error("budget row printed without BenchmarkSendPlainBudget")
	}
}

func TestVerdictPrecision(t *testing.T) {
	// 1.2504 rounds to 1.25 at two decimals; the MISS must still read as a miss.
	if got := verdict(le, 1.2504, 1.25, ""); got != "MISS (1.2504 > 1.2500: 0% over target)" {
		t.Errorf("got %q", got)
	}
	if got := verdict(le, 1.25, 1.25, ""); got != "PASS" {
		t.Errorf("boundary: got %q", got)
	}
	if got := verdict(lt, 200, 200, " ms"); got != "MISS (200.0 ms ≥ 200.0 ms: 0% over target)" {
		t.Errorf("strict bound: got %q", got)
	}
	if got := verdict(le, 1.31, 1.25, ""); got != "MISS (1.31 > 1.25: 5% over target)" {
		t.Errorf("got %q", got)
	}
}

func TestStripProcs(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkX-8":            "BenchmarkX",
		"BenchmarkX":              "BenchmarkX",
		"BenchmarkX/size=1k-16":   "BenchmarkX/size=1k",
		"BenchmarkX/with-dash":    "BenchmarkX/with-dash",
		"BenchmarkX/with-dash-2":  "BenchmarkX/with-dash",
		"BenchmarkOpenEval1M-128": "BenchmarkOpenEval1M",
	} {
		if got := stripProcs(in); got != want {
			t.Errorf("stripProcs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReport(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(strings.NewReader(sample), &out, &errs); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errs.String())
	}
	text := out.String()
	t.Logf("\n%s", text)
	for _, want := range []string{
		"package", "other metrics",
		"vm ", "image/exportfmt ",
		"BenchmarkSendPhoenix ",
		"240000000 [5.8%]",
		"1000000 sends/op [0.0%]",
		"100000 objects/op [0.0%]",
		"120.5 [9.8%]", // (124-112.25)/120.5
		"BenchmarkWrite/small ",
		"Phoenix anchors",
		"MISS (1.30 > 1.25: 4% over target)",
		"PASS",
		"not run (BenchmarkImport1M, BenchmarkImport)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(text, "-2 ") || strings.Contains(text, "github.com/phoenix-image/phoenix/") {
		t.Error("report contains a -GOMAXPROCS suffix or the module prefix")
	}
}

func TestRunExitStatus(t *testing.T) {
	cases := []struct {
		name, input string
		code        int
		stderr      string
	}{
		{"empty", "", 1, "no benchmark lines"},
		{"no benchmarks", "goos: linux\npkg: x\nPASS\nok  \tx\t0.1s\n", 1, "no benchmark lines"},
		{"fail line", "pkg: x\nBenchmarkA-2 10 5 ns/op\n--- FAIL: BenchmarkB-2\n    b_test.go:9: boom\nFAIL\nFAIL\tx\t0.2s\n", 1, "FAIL line"},
		{"miss is not an error", "BenchmarkSendPhoenix 1 200 ns/op\nBenchmarkSendPlain 1 100 ns/op\n", 0, ""},
	}
	for _, c := range cases {
		var out, errs bytes.Buffer
		code := run(strings.NewReader(c.input), &out, &errs)
		if code != c.code || !strings.Contains(errs.String(), c.stderr) {
			t.Errorf("%s: exit %d stderr %q, want %d containing %q", c.name, code, errs.String(), c.code, c.stderr)
		}
		if c.name == "fail line" && !strings.Contains(out.String(), "BenchmarkA") {
			t.Errorf("%s: report not printed before failing: %q", c.name, out.String())
		}
	}
}

func TestDesktopAnchors(t *testing.T) {
	const input = `pkg: github.com/phoenix-image/phoenix/browser
BenchmarkBrowserFrame100k-2    	       3	    110962 ns/op	     978 B/op	      43 allocs/op
BenchmarkBrowserFrame100k-2    	       3	   4200000 ns/op	     978 B/op	      43 allocs/op
BenchmarkBrowserFrame100k-2    	       3	    120000 ns/op	     978 B/op	      43 allocs/op
BenchmarkBrowserScroll100k-2   	       3	12700597320 ns/op	      5653 allocs/frame	      2778 frames/op	        47.01 heap-MB	        27.69 heap-growth-MB	   4583609 ns/frame	8557393405 B/op	15703103 allocs/op
BenchmarkBrowserScroll100k-2   	       3	12700597320 ns/op	      5653 allocs/frame	      2778 frames/op	        45.00 heap-MB	        27.69 heap-growth-MB	   4583609 ns/frame	8557393405 B/op	15703103 allocs/op
pkg: github.com/phoenix-image/phoenix/tests
BenchmarkGUIFirstFrame10k-2   	       3	 122161009 ns/op	       113.9 reported-ms
BenchmarkGUIFirstFrame1M-2    	       3	1024510170 ns/op	       118.2 reported-ms
`
	rows := anchorsByLabel(Anchors(summarise(t, input)))
	want := map[string]struct{ inputs, value, target, verdict string }{
		"browser frame, 100k objects":       {"BrowserFrame100k", "0.12 ms", "< 4 ms", "PASS"},
		"browser scroll heap, 100k":         {"BrowserScroll100k heap-MB", "46.0 MB", "-", "info"},
		"launch to first frame, 1M objects": {"GUIFirstFrame1M", "1024.51 ms", "< 1000 ms", "MISS (1024.5 ms ≥ 1000.0 ms: 2% over target)"},
	}
	for label, w := range want {
		r, ok := rows[label]
		if !ok {
			t.Errorf("no anchor row %q", label)
			continue
		}
		if r.Inputs != w.inputs || r.Value != w.value || r.Target != w.target || r.Verdict != w.verdict {
			t.Errorf("%s: got %q %q %q %q, want %q %q %q %q", label, r.Inputs, r.Value, r.Target, r.Verdict, w.inputs, w.value, w.target, w.verdict)
		}
	}
}

func TestBootAnchors(t *testing.T) {
	const input = `pkg: github.com/phoenix-image/phoenix/tests
BenchmarkBootToReady-2        	       1	3855971295 ns/op	       957.0 firmware-ms	      2370 kernel-ms	       270.0 phoenix-ms	      3597 total-ms
BenchmarkBootToReady-2        	       1	5563568160 ns/op	      2383 firmware-ms	      2460 kernel-ms	       400.0 phoenix-ms	      5243 total-ms
BenchmarkBootToReady-2        	       1	4768047226 ns/op	      1321 firmware-ms	      2630 kernel-ms	       520.0 phoenix-ms	      4471 total-ms
BenchmarkBootArtifactCold-2   	       6	 187421798 ns/op
BenchmarkBootArtifactWarm-2   	      18	  63852222 ns/op
BenchmarkRemoteEvalThroughQEMU-2   	    1177	   1122030 ns/op
`
	rows := anchorsByLabel(Anchors(summarise(t, input)))
	want := map[string]struct{ value, target, verdict string }{
		"boot to READY, phoenix part (PID 1 to READY)":              {"400 ms", "< 300 ms", "MISS (400.0 ms ≥ 300.0 ms: 33% over target)"},
		"boot to READY, firmware / kernel / total":                  {"1321 / 2460 / 4471 ms", "-", "info"},
		"boot artifact build, cold / warm":                          {"187.4 ms / 63.85 ms", "-", "info"},
		"remote eval round trip, through QEMU's port forward (TCG)": {"1.122 ms", "-", "info"},
	}
	for label, w := range want {
		r := rows[label]
		if r.Value != w.value || r.Target != w.target || r.Verdict != w.verdict {
			t.Errorf("%s: got %q %q %q, want %q %q %q", label, r.Value, r.Target, r.Verdict, w.value, w.target, w.verdict)
		}
	}
}

func TestRemoteAnchor(t *testing.T) {
	in := "pkg: github.com/phoenix-image/phoenix/kernelhost/remote\n" +
		"BenchmarkRemoteEvalLoopback-2   23642   51295 ns/op   38465 B/op   141 allocs/op\n" +
		"BenchmarkRemoteEvalLoopback-2   23410   47688 ns/op   38462 B/op   141 allocs/op\n" +
		"BenchmarkRemoteEvalLoopback-2   22725 1953095 ns/op   38462 B/op   141 allocs/op\n"
	r := anchorsByLabel(Anchors(summarise(t, in)))["remote eval round trip, loopback"]
	if r.Value != "0.051 ms" || r.Verdict != "PASS" || r.Inputs != "RemoteEvalLoopback" {
		t.Fatalf("row: %+v", r)
	}
	slow := strings.ReplaceAll(in, " 51295 ns/op", "1500000 ns/op")
	slow = strings.ReplaceAll(slow, " 47688 ns/op", "1400000 ns/op")
	if r := anchorsByLabel(Anchors(summarise(t, slow)))["remote eval round trip, loopback"]; !strings.HasPrefix(r.Verdict, "MISS") {
		t.Fatalf("slow row: %+v", r)
	}
}

func TestAnchorsPersonalities(t *testing.T) {
	const input = `pkg: github.com/phoenix-image/phoenix/sandbox
BenchmarkPersonalityColdStart-2     	10	 700000000 ns/op
BenchmarkPersonalityWarmCommand-2   	10	 175000000 ns/op
`
	rows := anchorsByLabel(Anchors(summarise(t, input)))
	for label, want := range map[string]string{
		"personality cold start + first command": "700.0 ms",
		"personality warm command (runsc exec)":  "175.0 ms",
		"personality: cold start / warm command": "4.00",
		"personality warm cowsay":                "not run",
	} {
		if got := rows[label].Value; got != want {
			t.Errorf("%s: %q, want %q", label, got, want)
		}
	}
}

func TestMemoryAnchors(t *testing.T) {
	const input = `pkg: github.com/phoenix-image/phoenix/agent/memory
BenchmarkMemorySearchEmbedded10k-2    	     700	   1500000 ns/op
BenchmarkMemorySearchEmbedded100k-2   	      60	  15000000 ns/op
BenchmarkMemorySearchWeaviate10k-2    	     100	   6000000 ns/op
BenchmarkMemoryOpenEmbedded10k-2      	       1	1200000000 ns/op
BenchmarkMemoryOpenEmbeddedWarm10k-2  	     100	  12000000 ns/op
BenchmarkMemoryOpenEmbeddedWarmVectors100k-2	       5	 400000000 ns/op
`
	rows := anchorsByLabel(Anchors(summarise(t, input)))
	want := map[string]struct{ inputs, value, target, verdict string }{
		"memory search, embedded, 10k items":          {"MemorySearchEmbedded10k", "1.50 ms", "-", "info"},
		"memory search, Weaviate / embedded, 10k":     {"MemorySearchWeaviate10k 6 ms / MemorySearchEmbedded10k 1.5 ms", "4.00", "", "info"},
		"memory search, embedded, 100k / 10k":         {"MemorySearchEmbedded100k 15 ms / MemorySearchEmbedded10k 1.5 ms", "10.00", "", "info"},
		"memory search, weaviate, 100k items":         {"", "not run", "-", "not run (BenchmarkMemorySearchWeaviate100k)"},
		"memory open, cold (rebuild), 10k items":      {"MemoryOpenEmbedded10k", "1200.0 ms", "-", "info"},
		"memory open, warm (cache), 10k items":        {"MemoryOpenEmbeddedWarm10k", "12.0 ms", "-", "info"},
		"memory open, warm, with vectors, 100k items": {"MemoryOpenEmbeddedWarmVectors100k", "400.0 ms", "-", "info"},
		"memory open, cold / warm, 10k":               {"MemoryOpenEmbedded10k 1.2 s / MemoryOpenEmbeddedWarm10k 12 ms", "100.00", "", "info"},
		"memory open, warm (cache), 100k items":       {"", "not run", "-", "not run (BenchmarkMemoryOpenEmbeddedWarm100k)"},
	}
	for label, w := range want {
		r, ok := rows[label]
		if !ok {
			t.Errorf("no anchor row %q", label)
			continue
		}
		if r.Inputs != w.inputs || r.Value != w.value || r.Target != w.target || r.Verdict != w.verdict {
			t.Errorf("%s: got %q %q %q %q, want %q %q %q %q", label, r.Inputs, r.Value, r.Target, r.Verdict, w.inputs, w.value, w.target, w.verdict)
		}
	}
}
