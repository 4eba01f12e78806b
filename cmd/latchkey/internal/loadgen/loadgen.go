// Package loadgen drives a running Latchkey API with concurrent clients for
// a bounded time and checks what it acknowledged: `latchkey load` and
// `make load` use it against `latchkey dev` on loopback.
//
// A run has phases. The throughput phases each exercise one route alone
// (bearer calls through the authorizer, client-credentials exchanges,
// introspections) so their rates can be compared with targets. The mixed
// phase runs every kind of call at once — bearer calls, exchanges,
// introspections, creates, concurrent allowlist additions to shared tokens,
// rotations and revocations — and afterwards the final state is checked
// against every acknowledged operation: no lost update, no resurrected
// token, no stale secret.
package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config chooses the run.
type Config struct {
	// URL is the API's base URL.
	URL string
	// Token is an admin token (apikeys:manage) of the account the run
	// creates its tokens in.
	Token string
	// Phase is how long each throughput phase runs; the mixed phase runs
	// twice as long.
	Phase time.Duration
	// Clients is the number of concurrent clients.
	Clients int
	// Pool is the number of pre-created tokens the clients share.
	Pool int
	// Phases to run, by name; empty runs all of them.
	Phases []string
}

// Phase names.
const (
	PhaseBearer     = "bearer"
	PhaseExchange   = "exchange"
	PhaseIntrospect = "introspect"
	PhaseMixed      = "mixed"
)

// AllPhases in the order a run takes them.
var AllPhases = []string{PhaseBearer, PhaseExchange, PhaseIntrospect, PhaseMixed}

// Route labels used in reports.
const (
	opWhoami     = "GET /v1/whoami"
	opExchange   = "POST /oauth/token"
	opIntrospect = "POST /oauth/introspect"
	opCreate     = "POST /v1/tokens"
	opPatch      = "PATCH /v1/tokens/{id}"
	opRotate     = "POST /v1/tokens/{id}/rotate"
	opRevoke     = "DELETE /v1/tokens/{id}"
)

// Report is what a run measured.
type Report struct {
	Phases []PhaseReport
	// Checks lists the consistency checks made after the mixed phase,
	// each with its outcome.
	Checks []Check
}

// PhaseReport is one phase's measurements.
type PhaseReport struct {
	Name     string
	Duration time.Duration
	Routes   []RouteStats
}

// Check is one consistency check.
type Check struct {
	Name   string
	Failed int
	Total  int
}

// OK reports whether every check passed and no request got a 5xx or a
// transport error.
func (r Report) OK() bool {
	for _, c := range r.Checks {
		if c.Failed > 0 {
			return false
		}
	}
	for _, p := range r.Phases {
		for _, rs := range p.Routes {
			if rs.Server5xx > 0 || rs.Errors > 0 || rs.Unexpected > 0 {
				return false
			}
		}
	}
	return true
}

// Run performs the run. It returns an error only when the run could not be
// made (bad URL, the admin token refused, setup failed); problems the run
// finds are in the report.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Clients <= 0 {
		cfg.Clients = 32
	}
	if cfg.Pool <= 0 {
		cfg.Pool = 64
	}
	if cfg.Phase <= 0 {
		cfg.Phase = 5 * time.Second
	}
	phases := cfg.Phases
	if len(phases) == 0 {
		phases = AllPhases
	}
	for _, p := range phases {
		if !slices.Contains(AllPhases, p) {
			return Report{}, fmt.Errorf("unknown phase %q (want %s)", p, strings.Join(AllPhases, ", "))
		}
	}
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return Report{}, fmt.Errorf("url %q: want http(s)://host[:port]", cfg.URL)
	}
	c := &client{
		base: base.String(),
		http: &http.Client{
			Timeout: 10 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns:        cfg.Clients * 2,
				MaxIdleConnsPerHost: cfg.Clients * 2,
				IdleConnTimeout:     30 * time.Second,
			},
		},
	}
	r := &run{cfg: cfg, c: c, admin: cfg.Token}
	needAccess := slices.Contains(phases, PhaseIntrospect) || slices.Contains(phases, PhaseMixed)
	if err := r.setup(ctx, needAccess); err != nil {
		return Report{}, err
	}
	var rep Report
	for _, p := range phases {
		if ctx.Err() != nil {
			break
		}
		var pr PhaseReport
		switch p {
		case PhaseBearer:
			pr = r.throughput(ctx, p, func(ctx context.Context, s *stats, rng *rand.Rand) { r.whoami(ctx, s, r.pick(rng)) })
		case PhaseExchange:
			pr = r.throughput(ctx, p, func(ctx context.Context, s *stats, rng *rand.Rand) { r.exchange(ctx, s, r.pick(rng)) })
		case PhaseIntrospect:
			pr = r.throughput(ctx, p, func(ctx context.Context, s *stats, rng *rand.Rand) { r.introspect(ctx, s, r.pickAccess(rng)) })
		case PhaseMixed:
			var checks []Check
			pr, checks = r.mixed(ctx)
			rep.Checks = append(rep.Checks, checks...)
		}
		rep.Phases = append(rep.Phases, pr)
	}
	return rep, nil
}

// pooled is a token shared by the clients.
type pooled struct {
	id, secret, token string
	access            string // an access token obtained in setup
}

type run struct {
	cfg   Config
	c     *client
	admin string
	pool  []pooled
	// targets take the concurrent allowlist additions of the mixed phase;
	// they are not in the pool, whose tokens must keep working from here.
	targets []pooled
}

func (r *run) pick(rng *rand.Rand) pooled { return r.pool[rng.IntN(len(r.pool))] }

func (r *run) pickAccess(rng *rand.Rand) string { return r.pick(rng).access }

// setup checks the admin token and creates the pool, with an access token
// for each pooled token when the phases introspect.
func (r *run) setup(ctx context.Context, needAccess bool) error {
	st, body, err := r.c.do(ctx, "GET", "/v1/whoami", r.admin, "", nil)
	if err != nil {
		return fmt.Errorf("reach %s: %w", r.c.base, err)
	}
	if st != http.StatusOK {
		return fmt.Errorf("the admin token is refused: %d %s", st, describe(body))
	}
	r.pool = make([]pooled, 0, r.cfg.Pool)
	for i := range r.cfg.Pool {
		t, _, err := r.create(ctx, fmt.Sprintf("load pool %d", i))
		if err != nil {
			return fmt.Errorf("create pool token: %w", err)
		}
		if needAccess {
			if t.access, err = r.accessToken(ctx, t); err != nil {
				return fmt.Errorf("exchange pool token: %w", err)
			}
		}
		r.pool = append(r.pool, t)
	}
	for i := range 4 {
		t, _, err := r.create(ctx, fmt.Sprintf("load allowlist target %d", i))
		if err != nil {
			return fmt.Errorf("create allowlist target: %w", err)
		}
		r.targets = append(r.targets, t)
	}
	return nil
}

// create makes a view-only secret token; it answers the HTTP status, and an
// error when the token could not be made.
func (r *run) create(ctx context.Context, name string) (pooled, int, error) {
	body := fmt.Sprintf(`{"name":%q,"permissions":["apikeys:view"]}`, name)
	st, out, err := r.c.do(ctx, "POST", "/v1/tokens", r.admin, "application/json", strings.NewReader(body))
	if err != nil {
		return pooled{}, 0, err
	}
	if st != http.StatusCreated {
		return pooled{}, st, fmt.Errorf("%d %s", st, describe(out))
	}
	var raw struct {
		ID           string `json:"id"`
		ClientSecret string `json:"client_secret"`
		Token        string `json:"token"`
	}
	if err := json.Unmarshal(out, &raw); err != nil || raw.Token == "" {
		return pooled{}, 0, fmt.Errorf("decode created token: %s", describe(out))
	}
	return pooled{id: raw.ID, secret: raw.ClientSecret, token: raw.Token}, st, nil
}

func (r *run) accessToken(ctx context.Context, t pooled) (string, error) {
	st, out, err := r.c.form(ctx, "/oauth/token", t.id, t.secret, "", url.Values{"grant_type": {"client_credentials"}})
	if err != nil {
		return "", err
	}
	if st != http.StatusOK {
		return "", fmt.Errorf("%d %s", st, describe(out))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(out, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("no access_token in %s", describe(out))
	}
	return tok.AccessToken, nil
}

// throughput runs one operation from every client for cfg.Phase.
func (r *run) throughput(ctx context.Context, name string, op func(context.Context, *stats, *rand.Rand)) PhaseReport {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Phase)
	defer cancel()
	rec := newRecorder()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range r.cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			s := rec.local()
			for ctx.Err() == nil {
				op(ctx, s, rng)
			}
			rec.merge(s)
		}()
	}
	wg.Wait()
	return rec.report(name, time.Since(start))
}

func (r *run) whoami(ctx context.Context, s *stats, t pooled) {
	t0 := time.Now()
	st, _, err := r.c.do(ctx, "GET", "/v1/whoami", t.token, "", nil)
	s.observe(opWhoami, t0, st, err, http.StatusOK)
}

func (r *run) exchange(ctx context.Context, s *stats, t pooled) {
	t0 := time.Now()
	st, _, err := r.c.form(ctx, "/oauth/token", t.id, t.secret, "", url.Values{"grant_type": {"client_credentials"}, "scope": {"apikeys:view"}})
	s.observe(opExchange, t0, st, err, http.StatusOK)
}

func (r *run) introspect(ctx context.Context, s *stats, accessToken string) {
	t0 := time.Now()
	st, out, err := r.c.form(ctx, "/oauth/introspect", "", "", r.admin, url.Values{"token": {accessToken}})
	want := http.StatusOK
	if err == nil && st == http.StatusOK && !strings.Contains(string(out), `"active":true`) {
		st = 0 // an active token reported inactive is a wrong answer
	}
	s.observe(opIntrospect, t0, st, err, want)
}

// owned is a token one mixed-phase client created and alone rotates or
// revokes, so the expected final state is known exactly.
type owned struct {
	pooled
	revoked bool
	// uncertain: a rotation or revocation got no answer (the phase ended
	// while it was in flight), so its outcome is unknown and the token is
	// left out of the checks.
	uncertain bool
	// stale secrets replaced by an acknowledged rotation.
	stale []string
}

// mixed runs every kind of call at once, then checks the final state.
func (r *run) mixed(ctx context.Context) (PhaseReport, []Check) {
	pctx, cancel := context.WithTimeout(ctx, 2*r.cfg.Phase)
	defer cancel()
	rec := newRecorder()
	start := time.Now()
	// Allowlist additions go to a few shared tokens from every client at
	// once: the conditional writes must keep every acknowledged entry.
	shared := r.targets
	var (
		mu      sync.Mutex
		addedIP = map[string][]string{} // token id -> acknowledged additions
		mine    [][]*owned
		nextIP  atomic.Uint32
	)
	mine = make([][]*owned, r.cfg.Clients)
	var wg sync.WaitGroup
	for i := range r.cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())+1))
			s := rec.local()
			for pctx.Err() == nil {
				switch n := rng.IntN(100); {
				case n < 45:
					r.whoami(pctx, s, r.pick(rng))
				case n < 65:
					r.exchange(pctx, s, r.pick(rng))
				case n < 80:
					r.introspect(pctx, s, r.pickAccess(rng))
				case n < 86:
					t0 := time.Now()
					t, st, err := r.create(pctx, fmt.Sprintf("load mixed %d", i))
					var terr error
					if st == 0 {
						terr = err
					}
					s.observe(opCreate, t0, st, terr, http.StatusCreated)
					if err == nil {
						mine[i] = append(mine[i], &owned{pooled: t})
					}
				case n < 93:
					t := shared[rng.IntN(len(shared))]
					k := nextIP.Add(1)
					// 90 distinct entries per token at most, below the
					// allowlist's limit; re-adding one is a no-op write.
					ip := fmt.Sprintf("10.0.0.%d", k%90)
					t0 := time.Now()
					st, _, err := r.c.do(pctx, "PATCH", "/v1/tokens/"+t.id, r.admin, "application/json",
						strings.NewReader(fmt.Sprintf(`{"add_allowed_ips":[%q]}`, ip)))
					s.observe(opPatch, t0, st, err, http.StatusOK)
					if err == nil && st == http.StatusOK {
						mu.Lock()
						addedIP[t.id] = append(addedIP[t.id], ip)
						mu.Unlock()
					}
				case n < 97:
					o := liveOf(mine[i], rng)
					if o == nil {
						continue
					}
					t0 := time.Now()
					st, out, err := r.c.do(pctx, "POST", "/v1/tokens/"+o.id+"/rotate", r.admin, "application/json", strings.NewReader(`{}`))
					s.observe(opRotate, t0, st, err, http.StatusOK)
					if err != nil {
						o.uncertain = true
					}
					if err == nil && st == http.StatusOK {
						var nt struct {
							Token string `json:"token"`
						}
						if json.Unmarshal(out, &nt) == nil && nt.Token != "" {
							o.stale = append(o.stale, o.token)
							o.token = nt.Token
						}
					}
				default:
					o := liveOf(mine[i], rng)
					if o == nil {
						continue
					}
					t0 := time.Now()
					st, _, err := r.c.do(pctx, "DELETE", "/v1/tokens/"+o.id, r.admin, "", nil)
					s.observe(opRevoke, t0, st, err, http.StatusNoContent)
					if err != nil {
						o.uncertain = true
					}
					if err == nil && st == http.StatusNoContent {
						o.revoked = true
					}
				}
			}
			rec.merge(s)
		}()
	}
	wg.Wait()
	rep := rec.report(PhaseMixed, time.Since(start))
	return rep, r.verify(ctx, shared, addedIP, mine)
}

func liveOf(ts []*owned, rng *rand.Rand) *owned {
	if len(ts) == 0 {
		return nil
	}
	o := ts[rng.IntN(len(ts))]
	if o.revoked || o.uncertain {
		return nil
	}
	return o
}

// verify compares the server's final state with what it acknowledged.
func (r *run) verify(ctx context.Context, shared []pooled, added map[string][]string, mine [][]*owned) []Check {
	ips := Check{Name: "every acknowledged allowlist addition is kept"}
	for _, t := range shared {
		st, out, err := r.c.do(ctx, "GET", "/v1/tokens/"+t.id, r.admin, "", nil)
		var got struct {
			AllowedIPs []string `json:"allowed_ips"`
		}
		ok := err == nil && st == http.StatusOK && json.Unmarshal(out, &got) == nil
		for _, ip := range added[t.id] {
			ips.Total++
			if !ok || !slices.Contains(got.AllowedIPs, ip) {
				ips.Failed++
			}
		}
	}
	status := Check{Name: "every acknowledged revoke holds; every other created token is active"}
	secrets := Check{Name: "the last rotated secret works; replaced and revoked ones do not"}
	for _, ts := range mine {
		for _, o := range ts {
			if o.uncertain {
				continue
			}
			status.Total++
			st, out, err := r.c.do(ctx, "GET", "/v1/tokens/"+o.id, r.admin, "", nil)
			var got struct {
				Status string `json:"status"`
			}
			want := "active"
			if o.revoked {
				want = "revoked"
			}
			if err != nil || st != http.StatusOK || json.Unmarshal(out, &got) != nil || got.Status != want {
				status.Failed++
			}
			// A bearer call with a fresh Authorization value is never
			// answered from the authorizer cache.
			for _, old := range o.stale {
				secrets.Total++
				if st, _, err := r.c.do(ctx, "GET", "/v1/whoami", old, "", nil); err != nil || st != http.StatusUnauthorized {
					secrets.Failed++
				}
			}
			if len(o.stale) > 0 || o.revoked {
				secrets.Total++
				wantSt := http.StatusOK
				if o.revoked {
					wantSt = http.StatusUnauthorized
				}
				if st, _, err := r.c.do(ctx, "GET", "/v1/whoami", o.token, "", nil); err != nil || st != wantSt {
					secrets.Failed++
				}
			}
		}
	}
	return []Check{ips, status, secrets}
}

// client is a small HTTP client for the API.
type client struct {
	base string
	http *http.Client
}

func (c *client) do(ctx context.Context, method, path, bearerToken, contentType string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, nil, err
	}
	if bearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+bearerToken)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return c.send(req)
}

// form posts an OAuth form, with client_secret_basic when id is set, or a
// bearer token.
func (c *client) form(ctx context.Context, path, id, secret, bearerToken string, v url.Values) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+path, strings.NewReader(v.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	if bearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+bearerToken)
	}
	return c.send(req)
}

func (c *client) send(req *http.Request) (int, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

// describe shows an API error body briefly.
func describe(body []byte) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error + ": " + e.Description
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return string(body)
}
