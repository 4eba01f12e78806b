// Command benchratio reads `go test -bench -benchmem` output and compares
// benchmarks with baselines measured in the same run, as ratios, because a
// ratio of two figures from one machine at one moment means something and a
// bare nanosecond count does not. Each benchmark's fastest run of -count is
// used: load from other processes only ever slows a run down.
//
//	go test -run '^$' -bench . -benchmem -count 5 ./shared/authorizer |
//	    go run ./cmd/benchratio -ratio 'OpaqueDecision/OpaqueBaseline<=3'
//
// It prints every benchmark (ns/op, B/op, allocs/op) and every ratio, and
// exits 1 when a ratio exceeds its bound. -report 'Bench/Baseline' prints a
// ratio that has no bound.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Result is a benchmark's best run.
type Result struct {
	Name        string
	NsPerOp     float64
	BytesPerOp  int64
	AllocsPerOp int64
	Runs        int
}

// Ratio is a benchmark over its baseline, with the largest ratio allowed
// (zero: reported, not held to a bound).
type Ratio struct {
	Bench, Baseline string
	Max             float64
}

var lineRE = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+(\d+) B/op)?(?:\s+(\d+) allocs/op)?`)

// Parse reads benchmark lines and keeps each benchmark's fastest run.
func Parse(r io.Reader) (map[string]*Result, []string, error) {
	out := map[string]*Result{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%q: %w", sc.Text(), err)
		}
		b, _ := strconv.ParseInt(m[3], 10, 64)
		a, _ := strconv.ParseInt(m[4], 10, 64)
		res, ok := out[m[1]]
		if !ok {
			res = &Result{Name: m[1], NsPerOp: ns, BytesPerOp: b, AllocsPerOp: a}
			out[m[1]] = res
			order = append(order, m[1])
		}
		res.Runs++
		if ns < res.NsPerOp {
			res.NsPerOp, res.BytesPerOp, res.AllocsPerOp = ns, b, a
		}
	}
	return out, order, sc.Err()
}

// ParseRatio reads "Bench/Baseline<=max".
func ParseRatio(s string) (Ratio, error) {
	pair, max, ok := strings.Cut(s, "<=")
	bench, base, ok2 := strings.Cut(pair, "/")
	if !ok || !ok2 || bench == "" || base == "" {
		return Ratio{}, fmt.Errorf("ratio %q: want Bench/Baseline<=max", s)
	}
	m, err := strconv.ParseFloat(max, 64)
	if err != nil || m <= 0 {
		return Ratio{}, fmt.Errorf("ratio %q: bad bound", s)
	}
	return Ratio{Bench: bench, Baseline: base, Max: m}, nil
}

// Report writes the table and the ratios, and reports whether every ratio
// is within its bound.
func Report(w io.Writer, results map[string]*Result, order []string, ratios []Ratio) (bool, error) {
	fmt.Fprintf(w, "%-40s %14s %10s %10s %5s\n", "benchmark (fastest run)", "ns/op", "B/op", "allocs/op", "runs")
	for _, name := range order {
		r := results[name]
		fmt.Fprintf(w, "%-40s %14.1f %10d %10d %5d\n", r.Name, r.NsPerOp, r.BytesPerOp, r.AllocsPerOp, r.Runs)
	}
	fmt.Fprintln(w)
	ok := true
	for _, q := range ratios {
		b, base := results[q.Bench], results[q.Baseline]
		if b == nil || base == nil {
			return false, fmt.Errorf("ratio %s/%s: benchmark missing from the input", q.Bench, q.Baseline)
		}
		got := b.NsPerOp / base.NsPerOp
		if q.Max == 0 {
			fmt.Fprintf(w, "%-58s %6.2fx  (no bound)\n", q.Bench+" / "+q.Baseline, got)
			continue
		}
		verdict := "ok"
		if got > q.Max {
			verdict, ok = "OVER", false
		}
		fmt.Fprintf(w, "%-58s %6.2fx  (bound %.2fx)  %s\n", q.Bench+" / "+q.Baseline, got, q.Max, verdict)
	}
	return ok, nil
}

// ParseReport reads "Bench/Baseline": a ratio shown without a bound.
func ParseReport(s string) (Ratio, error) {
	bench, base, ok := strings.Cut(s, "/")
	if !ok || bench == "" || base == "" || strings.Contains(base, "<=") {
		return Ratio{}, fmt.Errorf("report %q: want Bench/Baseline", s)
	}
	return Ratio{Bench: bench, Baseline: base}, nil
}

type ratioFlags []Ratio

func (r *ratioFlags) String() string { return fmt.Sprint(*r) }
func (r *ratioFlags) Set(s string) error {
	q, err := ParseRatio(s)
	if err != nil {
		return err
	}
	*r = append(*r, q)
	return nil
}

type reportFlags struct{ r *ratioFlags }

func (r reportFlags) String() string { return "" }
func (r reportFlags) Set(s string) error {
	q, err := ParseReport(s)
	if err != nil {
		return err
	}
	*r.r = append(*r.r, q)
	return nil
}

func main() {
	var ratios ratioFlags
	flag.Var(&ratios, "ratio", "Bench/Baseline<=max (repeatable)")
	flag.Var(reportFlags{&ratios}, "report", "Bench/Baseline, a ratio shown without a bound (repeatable)")
	flag.Parse()
	results, order, err := Parse(os.Stdin)
	if err == nil && len(results) == 0 {
		err = errors.New("no benchmark results on standard input")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(2)
	}
	ok, err := Report(os.Stdout, results, order, ratios)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}
