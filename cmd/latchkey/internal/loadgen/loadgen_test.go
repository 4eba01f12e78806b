package loadgen

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devserver"
)

// TestRunAgainstDevServer runs every phase briefly against a dev server and
// checks the report: traffic on every route, every consistency check made
// and passed.
func TestRunAgainstDevServer(t *testing.T) {
	srv, err := devserver.Start(context.Background(), devserver.Config{
		Addr: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	rep, err := Run(context.Background(), Config{URL: srv.URL, Token: srv.RootToken, Phase: 300 * time.Millisecond, Clients: 8, Pool: 8})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	if !rep.OK() {
		t.Fatalf("run found problems:\n%s", out.String())
	}
	if len(rep.Phases) != len(AllPhases) {
		t.Fatalf("phases %d:\n%s", len(rep.Phases), out.String())
	}
	mixed := rep.Phases[len(rep.Phases)-1]
	for _, op := range []string{opWhoami, opExchange, opIntrospect, opCreate, opPatch} {
		if !strings.Contains(out.String(), op) {
			t.Errorf("no %s traffic:\n%s", op, out.String())
		}
	}
	if len(mixed.Routes) < 5 || len(rep.Checks) != 3 {
		t.Fatalf("mixed phase too thin:\n%s", out.String())
	}
	for _, c := range rep.Checks {
		if c.Total == 0 {
			t.Errorf("check %q checked nothing", c.Name)
		}
	}
}

// TestReportFlagsProblems: a 5xx or a failed check makes the run fail.
func TestReportFlagsProblems(t *testing.T) {
	ok := Report{Phases: []PhaseReport{{Routes: []RouteStats{{Route: "x", OK: 1}}}}, Checks: []Check{{Name: "c", Total: 1}}}
	if !ok.OK() {
		t.Fatal("a clean report is not OK")
	}
	bad5xx := ok
	bad5xx.Phases = []PhaseReport{{Routes: []RouteStats{{Route: "x", Server5xx: 1}}}}
	badCheck := ok
	badCheck.Checks = []Check{{Name: "c", Total: 2, Failed: 1}}
	for _, r := range []Report{bad5xx, badCheck} {
		if r.OK() {
			t.Errorf("%+v is OK", r)
		}
	}
}
