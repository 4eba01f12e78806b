package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/latchkey/latchkey/shared/authorizer
BenchmarkOpaqueDecision-2        	 1552372	       771.7 ns/op	      48 B/op	       1 allocs/op
BenchmarkOpaqueDecision-2        	 1562048	       690.0 ns/op	      48 B/op	       1 allocs/op
BenchmarkOpaqueBaseline-2        	 6093388	       230.0 ns/op	      48 B/op	       1 allocs/op
BenchmarkOpaqueBaseline-2        	 7394876	       200.0 ns/op	      48 B/op	       1 allocs/op
BenchmarkPlain-8 	 1000	 12 ns/op
PASS
`

func TestParseKeepsFastestRun(t *testing.T) {
	t.Parallel()
	res, order, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 3 || order[0] != "OpaqueDecision" || order[2] != "Plain" {
		t.Fatalf("order %v", order)
	}
	if r := res["OpaqueDecision"]; r.NsPerOp != 690 || r.Runs != 2 || r.AllocsPerOp != 1 || r.BytesPerOp != 48 {
		t.Fatalf("%+v", r)
	}
	if r := res["Plain"]; r.NsPerOp != 12 || r.AllocsPerOp != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestReportRatios(t *testing.T) {
	t.Parallel()
	res, order, _ := Parse(strings.NewReader(sample))
	for _, tc := range []struct {
		ratio string
		ok    bool
	}{
		{"OpaqueDecision/OpaqueBaseline<=3.5", true},
		{"OpaqueDecision/OpaqueBaseline<=3", false},
	} {
		q, err := ParseRatio(tc.ratio)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		ok, err := Report(&out, res, order, []Ratio{q})
		if err != nil || ok != tc.ok || !strings.Contains(out.String(), "3.45x") {
			t.Fatalf("%s: ok=%v err=%v\n%s", tc.ratio, ok, err, out.String())
		}
	}
	if _, err := Report(&bytes.Buffer{}, res, order, []Ratio{{Bench: "Nope", Baseline: "OpaqueBaseline", Max: 1}}); err == nil {
		t.Fatal("a missing benchmark was not reported")
	}
	q, err := ParseReport("OpaqueDecision/OpaqueBaseline")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if ok, err := Report(&out, res, order, []Ratio{q}); err != nil || !ok || !strings.Contains(out.String(), "3.45x  (no bound)") {
		t.Fatalf("unbounded ratio: ok=%v err=%v\n%s", ok, err, out.String())
	}
	for _, bad := range []string{"a", "/b", "a/", "a/b<=3"} {
		if _, err := ParseReport(bad); err == nil {
			t.Errorf("ParseReport(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"a/b", "a<=3", "/b<=3", "a/b<=x", "a/b<=0"} {
		if _, err := ParseRatio(bad); err == nil {
			t.Errorf("ParseRatio(%q) accepted", bad)
		}
	}
}
