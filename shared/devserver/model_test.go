package devserver_test

import (
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/store/memstore"
	"github.com/latchkey/latchkey/shared/testkit/authzmodel"
)

// Every route that changes state has an operation in the authorization
// model, so a new path to a credential cannot go untested.
func TestModelCoversEveryMutatingRoute(t *testing.T) {
	if missing := authzmodel.Unmodelled(); len(missing) > 0 {
		t.Fatalf("routes that change state without an operation in the authorization model: %v", missing)
	}
}

// TestAuthorizationModel runs the authorization model (package authzmodel)
// on the in-memory store: a fixed seed and a fresh one, 3000 steps each.
// LATCHKEY_MODEL_STEPS sets the steps per run, LATCHKEY_MODEL_SEED replays
// one run (a failure prints the command), LATCHKEY_MODEL_DURATION keeps
// running fresh seeds (a duration, or Nx for N runs; make fuzz sets it).
func TestAuthorizationModel(t *testing.T) {
	t.Parallel()
	steps := authzmodel.Steps(t, 3000)
	if seed, ok := authzmodel.ReplaySeed(t); ok {
		authzmodel.Run(t, memstore.New(), seed, steps)
		return
	}
	// A fixed seed, then fresh ones: one, or as many as fit in
	// LATCHKEY_MODEL_DURATION (a duration, or Nx for N runs).
	authzmodel.Run(t, memstore.New(), 20261203, steps)
	runs, deadline := 1, time.Time{}
	if s := os.Getenv("LATCHKEY_MODEL_DURATION"); s != "" {
		if n, ok := strings.CutSuffix(s, "x"); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 1 {
				t.Fatalf("LATCHKEY_MODEL_DURATION=%q", s)
			}
			runs = v
		} else {
			d, err := time.ParseDuration(s)
			if err != nil {
				t.Fatalf("LATCHKEY_MODEL_DURATION=%q", s)
			}
			runs, deadline = 1<<30, time.Now().Add(d)
		}
	}
	for i := 0; i < runs && !t.Failed(); i++ {
		authzmodel.Run(t, memstore.New(), mrand.Uint64(), steps)
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			break
		}
	}
}
