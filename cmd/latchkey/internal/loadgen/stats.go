package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"text/tabwriter"
	"time"
)

// RouteStats is one route's outcome in a phase.
type RouteStats struct {
	Route string
	// OK counts answers with the expected status.
	OK int
	// Unexpected counts other 2xx/4xx answers; Server5xx counts 5xx;
	// Errors counts transport failures.
	Unexpected, Server5xx, Errors int
	// Statuses counts the unexpected answers by status.
	Statuses map[int]int
	// Rate is OK answers per second of the phase.
	Rate     float64
	P50, P99 time.Duration
}

// stats is one client's tally; it is merged into the recorder at the end,
// so the hot path takes no lock.
type stats struct {
	routes map[string]*tally
}

type tally struct {
	ok, unexpected, s5xx, errs int
	statuses                   map[int]int
	lat                        []time.Duration
}

// observe records one answer. Requests cut off by the phase ending are
// not counted: the server did nothing wrong.
func (s *stats) observe(route string, start time.Time, status int, err error, want int) {
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return
	}
	t := s.routes[route]
	if t == nil {
		t = &tally{}
		s.routes[route] = t
	}
	switch {
	case err != nil:
		t.errs++
		return
	case status >= 500:
		t.s5xx++
	case status == want:
		t.ok++
	default:
		t.unexpected++
	}
	if status != want {
		if t.statuses == nil {
			t.statuses = map[int]int{}
		}
		t.statuses[status]++
	}
	t.lat = append(t.lat, time.Since(start))
}

type recorder struct {
	mu  sync.Mutex
	all map[string]*tally
}

func newRecorder() *recorder { return &recorder{all: map[string]*tally{}} }

func (r *recorder) local() *stats { return &stats{routes: map[string]*tally{}} }

func (r *recorder) merge(s *stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, t := range s.routes {
		a := r.all[k]
		if a == nil {
			a = &tally{}
			r.all[k] = a
		}
		a.ok += t.ok
		a.unexpected += t.unexpected
		a.s5xx += t.s5xx
		a.errs += t.errs
		for st, n := range t.statuses {
			if a.statuses == nil {
				a.statuses = map[int]int{}
			}
			a.statuses[st] += n
		}
		a.lat = append(a.lat, t.lat...)
	}
}

func (r *recorder) report(name string, d time.Duration) PhaseReport {
	pr := PhaseReport{Name: name, Duration: d}
	for k, t := range r.all {
		slices.Sort(t.lat)
		pr.Routes = append(pr.Routes, RouteStats{
			Route: k, OK: t.ok, Unexpected: t.unexpected, Server5xx: t.s5xx, Errors: t.errs, Statuses: t.statuses,
			Rate: float64(t.ok) / d.Seconds(),
			P50:  quantile(t.lat, 0.50), P99: quantile(t.lat, 0.99),
		})
	}
	sort.Slice(pr.Routes, func(i, j int) bool { return pr.Routes[i].Route < pr.Routes[j].Route })
	return pr
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Print writes the report as tables.
func (r Report) Print(w io.Writer) {
	for _, p := range r.Phases {
		fmt.Fprintf(w, "\nphase %s (%.1fs)\n", p.Name, p.Duration.Seconds())
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "route\tok\t/s\tp50\tp99\tother 4xx\t5xx\terrors\t")
		for _, rs := range p.Routes {
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%d\t%d\t%d\t\n", rs.Route, rs.OK, rs.Rate,
				round(rs.P50), round(rs.P99), rs.Unexpected, rs.Server5xx, rs.Errors)
		}
		_ = tw.Flush()
		for _, rs := range p.Routes {
			if len(rs.Statuses) > 0 {
				fmt.Fprintf(w, "  %s unexpected answers by status: %v\n", rs.Route, rs.Statuses)
			}
		}
	}
	if len(r.Checks) > 0 {
		fmt.Fprintln(w, "\nconsistency after the mixed phase")
		for _, c := range r.Checks {
			verdict := "ok"
			if c.Failed > 0 {
				verdict = fmt.Sprintf("FAILED %d", c.Failed)
			}
			fmt.Fprintf(w, "  %-70s %6d checked  %s\n", c.Name, c.Total, verdict)
		}
	}
}

func round(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}
