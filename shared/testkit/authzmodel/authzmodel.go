// Package authzmodel is a model-based property test of Latchkey's
// authorization model, run against the whole local stack (the local API
// Gateway, the authorizer, the handlers) over any store: random account
// trees, secret and public_key tokens with random permission subsets and
// allowlists, access tokens with random scopes, and random sequences of
// every management and OAuth operation by random callers. A small model of
// the rules, written from the contract and not from the code, predicts
// every answer and every event; after each step Run checks the prediction
// and, independently of it, the invariants:
//
//  1. no caller obtains a credential (a secret, an access token) whose
//     permissions exceed its own effective permissions;
//  2. no caller changes or revokes a token outside its account tree or
//     holding permissions beyond its own effective permissions;
//  3. a revoked or expired token, or a rotated-out secret or key, never
//     works again;
//  4. every successful change writes exactly one event; a refused one none.
//
// The tests that run it: shared/devserver (memstore, in make test's unit
// run and in make fuzz) and this package's own (DynamoDB on moto_server).
package authzmodel

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/devserver"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/pubkey"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/sweep"
)

// Operations maps every route that changes state to the model's operation
// for it (or why it needs none). A test holds route.All to it, so a new
// path to a credential cannot go untested.
var Operations = map[string]string{
	"POST /v1/tokens":                    "create",
	"POST /v1/accounts/{account}/tokens": "create",
	"PATCH /v1/tokens/{id}":              "update",
	"POST /v1/tokens/{id}/rotate":        "rotate",
	"DELETE /v1/tokens/{id}":             "revoke",
	"POST /oauth/revoke":                 "oauth-revoke",
	"POST /oauth/token":                  "exchange",
	"POST /v1/accounts":                  "create-account",
	"PATCH /v1/accounts/{account}":       "update-account",
	"POST /v1/roles":                     "create-role",
	"POST /oauth/introspect":             "introspect",
}

// Unmodelled returns the state-changing routes of route.All that have no
// entry in Operations.
func Unmodelled() []string {
	var out []string
	for _, r := range route.All {
		if !route.Safe(r.Method) {
			if _, ok := Operations[r.Key()]; !ok {
				out = append(out, r.Key())
			}
		}
	}
	return out
}

// Steps is the number of steps per run: LATCHKEY_MODEL_STEPS when set,
// else def.
func Steps(t *testing.T, def int) int {
	t.Helper()
	s := os.Getenv("LATCHKEY_MODEL_STEPS")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("LATCHKEY_MODEL_STEPS=%q", s)
	}
	return n
}

// ReplaySeed is the seed LATCHKEY_MODEL_SEED names for replaying one run
// (a failure prints it), and whether it is set.
func ReplaySeed(t *testing.T) (uint64, bool) {
	t.Helper()
	s := os.Getenv("LATCHKEY_MODEL_SEED")
	if s == "" {
		return 0, false
	}
	seed, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("LATCHKEY_MODEL_SEED=%q", s)
	}
	return seed, true
}

// Store is what the model runs on: the API's store with the parts the
// OAuth endpoints and the sweeper need.
type Store interface {
	oauth.Store
	store.ExpiryWarnings
}

// Run runs steps random operations from seed over st (which must be
// empty), failing t on the first wrong answer, event count or broken
// invariant, and logging how to replay the run.
func Run(t *testing.T, st Store, seed uint64, steps int) {
	t.Helper()
	m := newModel(t, st, seed)
	defer func() {
		if t.Failed() {
			t.Logf("replay: LATCHKEY_MODEL_SEED=%d LATCHKEY_MODEL_STEPS=%d go test -run %s", seed, steps, t.Name())
			t.Logf("last steps:\n%s", strings.Join(m.trail, "\n"))
			if log := m.serverLog.String(); log != "" {
				t.Logf("the server's warnings and errors (last 4 KiB):\n%s", log[max(0, len(log)-4096):])
			}
		}
	}()
	for i := 0; i < steps && !t.Failed(); i++ {
		m.step(i)
	}
	t.Logf("seed %d: %d steps, %d tokens, %d accounts, %d access tokens, %d events, answers %v",
		seed, steps, len(m.creds), len(m.accounts), len(m.access), m.events.n.Load(), m.statuses)
}

// eventCounter is the store under test, counting the history rows its
// writes commit.
type eventCounter struct {
	Store
	n atomic.Int64
}

func (s *eventCounter) count(evs []event.Event, err error) {
	if err == nil {
		s.n.Add(int64(len(evs)))
	}
}

func (s *eventCounter) CreateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) error {
	err := s.Store.CreateCredential(ctx, c, evs...)
	s.count(evs, err)
	return err
}

func (s *eventCounter) UpdateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) (credential.Credential, error) {
	out, err := s.Store.UpdateCredential(ctx, c, evs...)
	s.count(evs, err)
	return out, err
}

func (s *eventCounter) AppendEvents(ctx context.Context, evs ...event.Event) error {
	err := s.Store.AppendEvents(ctx, evs...)
	s.count(evs, err)
	return err
}

func (s *eventCounter) CreateAccount(ctx context.Context, a account.Account, evs ...event.Event) error {
	err := s.Store.CreateAccount(ctx, a, evs...)
	s.count(evs, err)
	return err
}

func (s *eventCounter) UpdateAccount(ctx context.Context, a account.Account, evs ...event.Event) (account.Account, error) {
	out, err := s.Store.UpdateAccount(ctx, a, evs...)
	s.count(evs, err)
	return out, err
}

func (s *eventCounter) CreateRole(ctx context.Context, r account.Role, evs ...event.Event) error {
	err := s.Store.CreateRole(ctx, r, evs...)
	s.count(evs, err)
	return err
}

// The model's view of the world.

var (
	resources = []string{"apikeys", "accounts", "roles"}
	actions   = []string{"view", "modify", "delete", "manage"}
	// Two networks callers come from; allowlists name one, both or none.
	networks = []string{"192.0.2.0/24", "198.51.100.0/24"}
	addrs    = []string{"192.0.2.10", "198.51.100.20"}
)

const modelIssuerLifetime = time.Hour // the access-token lifetime (oauth default)

type mAccount struct {
	id   string
	path []string // root … id
}

type mCred struct {
	id      string
	account string
	path    []string
	perms   []string
	kind    credential.Kind
	token   string            // current lk_ token (secret kind)
	key     *ecdsa.PrivateKey // current key (public_key kind)
	prev    string            // previous token during a grace period
	prevKey *ecdsa.PrivateKey
	until   time.Time // end of the grace period
	status  credential.Status
	expires time.Time // zero: never
	warned  bool
	allowed []string
	dead    bool // revoked or expired: must never work again
	desc    string
}

type mAccess struct {
	raw    string
	client string
	scope  []string
	exp    time.Time
}

// liveAt predicts whether the access token itself is still good at now:
// before its exp, give or take the verifier's few seconds of skew.
func (a *mAccess) liveAt(now time.Time) bool { return now.Before(a.exp.Add(accesstoken.ExpirySkew)) }

type model struct {
	t        *testing.T
	r        *mrand.Rand
	clock    *clock.Manual
	srv      *devserver.Server
	events   *eventCounter
	sweeper  *sweep.Sweeper
	accounts []mAccount
	creds    []*mCred
	byID     map[string]*mCred
	// keeper is the first admin token: never revoked, deactivated or
	// fenced in by the model, and kept from expiring, so the world keeps
	// a caller who can act. It is still rotated, and used, like any other.
	keeper *mCred
	access []*mAccess
	// roles are the roles defined: account → name → permissions.
	roles map[string]map[string][]string
	// retired are credentials that must never work again: rotated-out
	// tokens and keys (past their grace), and tokens of dead records.
	retiredTokens []string
	retiredKeys   []retiredKey
	opCounts      map[string]int
	// serverLog holds what the server logged at warning level and above,
	// shown when a run fails.
	serverLog *syncBuffer
	// statuses counts the answers per operation, for the log: a run whose
	// operations all fail proves little.
	statuses map[string]int
	trail    []string
	serial   int
}

type retiredKey struct {
	id  string
	key *ecdsa.PrivateKey
}

func newModel(t *testing.T, st Store, seed uint64) *model {
	t.Helper()
	clk := clock.NewManual(time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC))
	counter := &eventCounter{Store: st}
	serverLog := &syncBuffer{}
	srv, err := devserver.Start(context.Background(), devserver.Config{Addr: "127.0.0.1:0", CacheTTL: -1, Clock: clk, Store: counter,
		Log: slog.New(slog.NewTextHandler(serverLog, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	m := &model{
		t: t, r: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), clock: clk, srv: srv, events: counter,
		sweeper:  &sweep.Sweeper{Store: counter, Clock: clk, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		byID:     map[string]*mCred{},
		roles:    map[string]map[string][]string{},
		opCounts: map[string]int{}, serverLog: serverLog,
		statuses: map[string]int{},
	}
	m.accounts = []mAccount{{id: "root", path: []string{"root"}}}
	root, err := srv.Store.GetCredential(context.Background(), srv.RootTokenID)
	if err != nil {
		t.Fatal(err)
	}
	rc := &mCred{id: root.ID, account: "root", path: []string{"root"}, perms: slices.Clone(root.Permissions), kind: credential.KindSecret,
		token: srv.RootToken, status: credential.StatusActive, expires: root.ExpiresAt}
	m.creds = append(m.creds, rc)
	m.byID[rc.id] = rc
	m.keeper = rc
	return m
}

func (m *model) now() time.Time { return m.clock.Now() }

// Rules, written from the contract, not from the code.

func allows(set []string, p string) bool {
	res, _, _ := strings.Cut(p, ":")
	return slices.Contains(set, p) || slices.Contains(set, res+":manage")
}

func covers(set, want []string) bool {
	for _, p := range want {
		if !allows(set, p) {
			return false
		}
	}
	return true
}

func readOnly(set []string) bool {
	for _, p := range set {
		if !strings.HasSuffix(p, ":view") {
			return false
		}
	}
	return true
}

func (c *mCred) expiredAt(now time.Time) bool {
	return !c.expires.IsZero() && !now.Before(c.expires.Add(time.Second))
}

// effStatus is the status users see: a live record past its day is expired.
func (c *mCred) effStatus(now time.Time) credential.Status {
	if (c.status == credential.StatusActive || c.status == credential.StatusInactive) && c.expiredAt(now) {
		return credential.StatusExpired
	}
	return c.status
}

func ipAllowed(list []string, ip string) bool {
	if len(list) == 0 {
		return true
	}
	for _, n := range list {
		if strings.HasPrefix(ip, strings.TrimSuffix(n, "0/24")) {
			return true
		}
	}
	return false
}

func (c *mCred) liveAt(now time.Time) bool {
	st := c.effStatus(now)
	return st == credential.StatusActive || st == credential.StatusInactive
}

func (c *mCred) usableFrom(ip string, now time.Time) bool {
	return c.effStatus(now) == credential.StatusActive && ipAllowed(c.allowed, ip)
}

func (m *model) inTree(caller string, c *mCred) bool { return slices.Contains(c.path, caller) }

// A caller: a credential and how it authenticates.
type mCaller struct {
	cred   *mCred
	access *mAccess // set for an access token
	form   string   // "token", "assertion", "access"
	ip     string
}

func (c mCaller) perms() []string {
	if c.access != nil {
		return c.access.scope
	}
	return c.cred.perms
}

func (c mCaller) String() string {
	s := c.form + ":" + c.cred.id
	if c.access != nil {
		s += "[" + strings.Join(c.access.scope, " ") + "]"
	}
	return s + "@" + c.ip
}

// authenticates predicts whether the caller's credential works now.
func (m *model) authenticates(c mCaller) bool {
	now := m.now()
	if !c.cred.usableFrom(c.ip, now) {
		return false
	}
	if c.access != nil {
		return c.access.liveAt(now)
	}
	return true
}

// Drawing things at random.

func (m *model) pick(n int) int { return m.r.IntN(n) }

func (m *model) chance(p float64) bool { return m.r.Float64() < p }

// caller draws a caller: mostly one whose credential works, so that the
// operations get past authentication and exercise the rules behind it.
func (m *model) caller() mCaller {
	c := mCaller{ip: addrs[m.pick(len(addrs))]}
	if len(m.access) > 0 && m.chance(0.3) {
		a := m.access[m.pick(len(m.access))]
		c.cred, c.access, c.form = m.byID[a.client], a, "access"
		return c
	}
	c.cred = m.creds[m.pick(len(m.creds))]
	if m.chance(0.7) {
		now := m.now()
		live := slices.DeleteFunc(slices.Clone(m.creds), func(x *mCred) bool { return x.effStatus(now) != credential.StatusActive })
		if len(live) > 0 {
			c.cred = live[m.pick(len(live))]
		}
	}
	c.form = "token"
	if c.cred.kind == credential.KindPublicKey {
		c.form = "assertion"
	}
	return c
}

func (m *model) allPerms() []string {
	var out []string
	for _, r := range resources {
		for _, a := range actions {
			out = append(out, r+":"+a)
		}
	}
	return out
}

// permsFor draws a non-empty permission list: mostly ones the caller could
// grant, sometimes any.
func (m *model) permsFor(have []string) []string {
	pool := m.allPerms()
	if m.chance(0.8) {
		pool = slices.DeleteFunc(pool, func(p string) bool { return !allows(have, p) })
	}
	n := 1 + m.pick(min(3, len(pool)))
	var out []string
	for range n {
		p := pool[m.pick(len(pool))]
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func (m *model) allowlist() []string {
	switch m.pick(4) {
	case 0:
		return []string{networks[0]}
	case 1:
		return []string{networks[1]}
	}
	return []string{}
}

func (m *model) day(ahead int) string {
	return credential.Day(m.now()).AddDate(0, 0, ahead).Format(credential.DateLayout)
}

// HTTP through the local gateway, in process.

type answer struct {
	status int
	body   map[string]any
}

func (m *model) send(ip, method, path, authz, contentType, body string) answer {
	m.t.Helper()
	req := httptest.NewRequest(method, "http://latchkey.test"+path, strings.NewReader(body))
	req.RemoteAddr = ip + ":40000"
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	m.srv.Gateway.ServeHTTP(rec, req)
	var out map[string]any
	if b := rec.Body.Bytes(); len(b) > 0 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out); err != nil {
			m.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return answer{rec.Code, out}
}

func (m *model) api(c mCaller, method, path, body string) answer {
	m.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return m.send(c.ip, method, path, m.bearer(c), ct, body)
}

func (m *model) bearer(c mCaller) string {
	m.t.Helper()
	switch c.form {
	case "access":
		return "Bearer " + c.access.raw
	case "assertion":
		return "Bearer " + m.assertion(c.cred.id, c.cred.key, clientkey.APIAudience(m.srv.Issuer))
	}
	return "Bearer " + c.cred.token
}

func (m *model) assertion(id string, key *ecdsa.PrivateKey, aud string) string {
	m.t.Helper()
	a, err := clientkey.Sign(key, clientkey.Assertion{TokenID: id, Audience: aud, Now: m.now()})
	if err != nil {
		m.t.Fatal(err)
	}
	return a
}

func (m *model) form(ip, path, authz string, f url.Values) answer {
	return m.send(ip, "POST", path, authz, "application/x-www-form-urlencoded", f.Encode())
}

// One step.

func (m *model) step(i int) {
	m.clock.Advance(31 * time.Second) // past the authorizer's status cache
	m.retireDead()
	before := m.events.n.Load()
	var op string
	var want int64
	switch k := m.pick(100); {
	case k < 2:
		op, want = m.advance()
	case k < 4:
		op, want = m.sweep()
	case k < 6:
		op, want = m.createAccount()
	case k < 8:
		op, want = m.updateAccount()
	case k < 11:
		op, want = m.createRole()
	case k < 28:
		op, want = m.create()
	case k < 40:
		op, want = m.update()
	case k < 48:
		op, want = m.rotate()
	case k < 55:
		op, want = m.revoke()
	case k < 61:
		op, want = m.oauthRevoke()
	case k < 75:
		op, want = m.exchange()
	case k < 88:
		op, want = m.use()
	case k < 94:
		op, want = m.introspect()
	default:
		op, want = m.retired()
	}
	m.opCounts[strings.Fields(op)[0]]++
	m.trail = append(m.trail, fmt.Sprintf("%4d %s %s", i, m.now().Format(time.DateTime), op))
	if len(m.trail) > 25 {
		m.trail = m.trail[1:]
	}
	if got := m.events.n.Load() - before; got != want {
		m.t.Errorf("step %d %s: %d events written, want %d", i, op, got, want)
	}
	m.forgetExpiredAccess()
}

// check compares an answer with the prediction.
func (m *model) check(op string, got answer, want int) {
	m.t.Helper()
	m.statuses[fmt.Sprintf("%s %d", strings.Fields(op)[0], got.status)]++
	if got.status != want {
		m.t.Errorf("%s: status %d, want %d: %v", op, got.status, want, got.body)
	}
}

// advance jumps a day or a few, so tokens expire and grace periods end.
func (m *model) advance() (string, int64) {
	d := time.Duration(1+m.pick(3)) * 24 * time.Hour
	m.clock.Advance(d)
	m.retireDead()
	op := "advance " + d.String()
	if k := m.keeper; k.expires.Sub(m.now()) < 10*24*time.Hour {
		// The keeper extends itself by a year, as an admin would.
		c := mCaller{cred: k, form: "token", ip: addrs[0]}
		body := fmt.Sprintf(`{"expires_at":%q}`, m.day(365))
		m.check(op+", keeper extends itself", m.api(c, "PATCH", "/v1/tokens/"+k.id, body), http.StatusOK)
		k.expires, k.warned = credential.EndOfDay(credential.Day(m.now()).AddDate(0, 0, 365)), false
		return op + ", keeper extended", 1
	}
	return op, 0
}

// sweep runs the expiry sweeper: live tokens past their day become expired
// (one event each); active, unwarned ones within three days are warned.
func (m *model) sweep() (string, int64) {
	now := m.now()
	today := credential.Day(now)
	var want int64
	for _, c := range m.creds {
		live := c.status == credential.StatusActive || c.status == credential.StatusInactive
		switch {
		case live && c.expiredAt(now) && !credential.Day(c.expires).Before(today.AddDate(0, 0, -sweep.DefaultLookback)):
			c.status, c.dead = credential.StatusExpired, true
			want++
		case c.status == credential.StatusActive && !c.expires.IsZero() && !c.warned && !c.expiredAt(now):
			left := int(credential.Day(c.expires).Sub(today) / (24 * time.Hour))
			if left >= 1 && left <= sweep.DefaultWarnDays {
				c.warned = true
				want++
			}
		}
	}
	res, err := m.sweeper.Run(context.Background())
	if err != nil || !res.Complete {
		m.t.Errorf("sweep: %+v %v", res, err)
	}
	m.retireDead()
	return fmt.Sprintf("sweep (%d expired, %d warned)", res.Expired, res.Warned), want
}

func (m *model) createAccount() (string, int64) {
	c := m.caller()
	parent := m.accounts[m.pick(len(m.accounts))]
	m.serial++
	id := fmt.Sprintf("acct-%d", m.serial)
	body := fmt.Sprintf(`{"id":%q,"name":"account %d","parent":%q}`, id, m.serial, parent.id)
	got := m.api(c, "POST", "/v1/accounts", body)
	op := fmt.Sprintf("create-account %s under %s by %s", id, parent.id, c)
	want, events := http.StatusCreated, int64(1)
	switch {
	case !m.authenticates(c):
		want, events = http.StatusUnauthorized, 0
	case !allows(c.perms(), "accounts:modify") || readOnly(c.perms()):
		want, events = http.StatusForbidden, 0
	case !slices.Contains(parent.path, c.cred.account):
		want, events = http.StatusBadRequest, 0
	case len(parent.path) >= 8: // accounts nest at most 8 deep
		want, events = http.StatusBadRequest, 0
	}
	m.check(op, got, want)
	if got.status == http.StatusCreated {
		m.accounts = append(m.accounts, mAccount{id: id, path: append(slices.Clone(parent.path), id)})
	}
	return op, events
}

// updateAccount renames an account and sets its admin e-mails: allowed on
// the caller's account and those below it, with accounts:modify. It leaves
// the token policy alone, so the model's expiry days stay what it predicts.
func (m *model) updateAccount() (string, int64) {
	c := m.caller()
	target := m.accounts[m.pick(len(m.accounts))]
	m.serial++
	body := fmt.Sprintf(`{"name":"account %d","admin_emails":["admin%d@example.com"]}`, m.serial, m.serial)
	got := m.api(c, "PATCH", "/v1/accounts/"+target.id, body)
	op := fmt.Sprintf("update-account %s by %s", target.id, c)
	want, events := http.StatusOK, int64(1)
	switch {
	case !m.authenticates(c):
		want, events = http.StatusUnauthorized, 0
	case !allows(c.perms(), "accounts:modify") || readOnly(c.perms()):
		want, events = http.StatusForbidden, 0
	case !slices.Contains(target.path, c.cred.account):
		want, events = http.StatusForbidden, 0 // the authorizer denies another tree's path
	}
	m.check(op, got, want)
	return op, events
}

func (m *model) create() (string, int64) {
	c := m.caller()
	target := m.accounts[m.pick(len(m.accounts))]
	path := "/v1/tokens"
	acct := c.cred.account
	if m.chance(0.5) {
		path, acct = "/v1/accounts/"+target.id+"/tokens", target.id
	}
	perms := m.permsFor(c.perms())
	m.serial++
	req := map[string]any{"name": fmt.Sprintf("token %d", m.serial), "permissions": perms}
	role, roleFound := "", false
	switch k := m.pick(10); {
	case k < 2:
		delete(req, "permissions")
		perms = slices.Clone(c.perms())
	case k < 4:
		// From a role: the nearest definition on the account's path, whose
		// permissions bound the token like asked-for ones.
		delete(req, "permissions")
		role = roleNames[m.pick(len(roleNames))]
		req["role"] = role
		perms, roleFound = m.roleFor(m.accountPath(acct), role)
	}
	var key *ecdsa.PrivateKey
	if m.chance(0.3) {
		key = m.newKey()
		req["kind"], req["public_key"] = "public_key", m.pem(key)
	}
	allowed := []string{}
	if m.chance(0.3) {
		allowed = m.allowlist()
		req["allowed_ips"] = allowed
	}
	days := credential.DefaultLifetimeDays
	if m.chance(0.7) {
		days = 1 + m.pick(10)
		req["expires_at"] = m.day(days)
	}
	body, _ := json.Marshal(req)
	got := m.api(c, "POST", path, string(body))
	op := fmt.Sprintf("create in %s perms %v role %q by %s", acct, perms, role, c)
	want, events := http.StatusCreated, int64(1)
	acctPath := m.accountPath(acct)
	switch {
	case !m.authenticates(c):
		want, events = http.StatusUnauthorized, 0
	case !allows(c.perms(), "apikeys:modify") || readOnly(c.perms()):
		want, events = http.StatusForbidden, 0
	case !slices.Contains(acctPath, c.cred.account):
		want, events = http.StatusForbidden, 0 // the authorizer denies another tree's path
	case role != "" && !roleFound:
		want, events = http.StatusBadRequest, 0
	case !covers(c.perms(), perms):
		want, events = http.StatusForbidden, 0
	}
	m.check(op, got, want)
	if got.status != http.StatusCreated {
		return op, events
	}
	// Invariant 1: what was handed out is within the caller's rights.
	held := toStrings(got.body["permissions"])
	if !covers(c.perms(), held) {
		m.t.Errorf("%s: INVARIANT: handed out a token holding %v beyond the caller's %v", op, held, c.perms())
	}
	nc := &mCred{id: got.body["id"].(string), account: acct, path: acctPath, perms: held, kind: credential.KindSecret,
		status: credential.StatusActive, allowed: allowed,
		expires: credential.EndOfDay(credential.Day(m.now()).AddDate(0, 0, days))}
	if key != nil {
		nc.kind, nc.key = credential.KindPublicKey, key
	} else {
		nc.token = got.body["token"].(string)
	}
	m.creds = append(m.creds, nc)
	m.byID[nc.id] = nc
	return op, events
}

func (m *model) accountPath(id string) []string {
	for _, a := range m.accounts {
		if a.id == id {
			return a.path
		}
	}
	m.t.Fatalf("no account %s", id)
	return nil
}

// changeable predicts the answer to a change of target by c: the status
// code, given the route's permission.
func (m *model) changeable(c mCaller, target *mCred, routePerm string) int {
	switch {
	case !m.authenticates(c):
		return http.StatusUnauthorized
	case !allows(c.perms(), routePerm) || readOnly(c.perms()):
		return http.StatusForbidden
	case !m.inTree(c.cred.account, target):
		return http.StatusNotFound
	case !covers(c.perms(), target.perms):
		return http.StatusForbidden
	}
	switch target.effStatus(m.now()) {
	case credential.StatusExpired, credential.StatusRevoked:
		return http.StatusConflict
	}
	return http.StatusOK
}

// target draws a token to act on: half the time any, else a live one.
func (m *model) target() *mCred {
	if m.chance(0.5) {
		now := m.now()
		live := slices.DeleteFunc(slices.Clone(m.creds), func(x *mCred) bool { return !x.liveAt(now) })
		if len(live) > 0 {
			return live[m.pick(len(live))]
		}
	}
	return m.creds[m.pick(len(m.creds))]
}

// targetFor draws a token for caller c to act on: often one within its
// reach (its tree, permissions it covers), so that changes get through.
func (m *model) targetFor(c mCaller) *mCred {
	if m.chance(0.15) {
		// A dead token within reach: every change must be refused, and
		// none may bring it back.
		dead := slices.DeleteFunc(slices.Clone(m.creds), func(x *mCred) bool {
			return !x.dead || !m.inTree(c.cred.account, x) || !covers(c.perms(), x.perms)
		})
		// Past their day but not yet swept are the ones to try first: only
		// the rule, not the stored status, stands in the way.
		if unswept := slices.DeleteFunc(slices.Clone(dead), func(x *mCred) bool {
			return x.status != credential.StatusActive && x.status != credential.StatusInactive
		}); len(unswept) > 0 && m.chance(0.7) {
			dead = unswept
		}
		if len(dead) > 0 {
			return dead[m.pick(len(dead))]
		}
	}
	if m.chance(0.5) {
		now := m.now()
		reach := slices.DeleteFunc(slices.Clone(m.creds), func(x *mCred) bool {
			return !x.liveAt(now) || x == m.keeper || !m.inTree(c.cred.account, x) || !covers(c.perms(), x.perms)
		})
		if len(reach) > 0 {
			return reach[m.pick(len(reach))]
		}
	}
	return m.fragile()
}

// fragile is target for the changes that could end the keeper: another
// token whenever the draw falls on it (the keeper itself while it is the
// only one, for a change that only rotates it).
func (m *model) fragile() *mCred {
	t := m.target()
	for t == m.keeper && len(m.creds) > 1 {
		t = m.target()
	}
	return t
}

// spare reports whether target may be ended by a change: anything but the
// keeper.
func (m *model) spare(target *mCred) bool { return target != m.keeper }

func (m *model) update() (string, int64) {
	c := m.caller()
	target := m.targetFor(c)
	if !m.spare(target) {
		return m.use()
	}
	var body string
	var apply func()
	changed := false
	switch m.pick(5) {
	case 0:
		active := m.chance(0.3)
		body = fmt.Sprintf(`{"active":%v}`, active)
		want := credential.StatusInactive
		if active {
			want = credential.StatusActive
		}
		changed = target.status != want
		apply = func() { target.status = want }
	case 4:
		// Reactivate with a new day: what an expired, deactivated token's
		// holder would try.
		days := 1 + m.pick(30)
		body = fmt.Sprintf(`{"active":true,"expires_at":%q}`, m.day(days))
		at := credential.EndOfDay(credential.Day(m.now()).AddDate(0, 0, days))
		newDay := !at.Equal(target.expires)
		changed = target.status != credential.StatusActive || newDay
		apply = func() {
			target.status = credential.StatusActive
			if newDay {
				target.expires, target.warned = at, false
			}
		}
	case 1:
		list := m.allowlist()
		b, _ := json.Marshal(list)
		body = `{"allowed_ips":` + string(b) + `}`
		changed = !slices.Equal(list, target.allowed)
		apply = func() { target.allowed = list }
	case 2:
		days := 1 + m.pick(8)
		body = fmt.Sprintf(`{"expires_at":%q}`, m.day(days))
		at := credential.EndOfDay(credential.Day(m.now()).AddDate(0, 0, days))
		changed = !at.Equal(target.expires)
		apply = func() {
			if changed { // a new day clears the warning; the same day keeps it
				target.expires, target.warned = at, false
			}
		}
	default:
		m.serial++
		d := fmt.Sprintf("description %d", m.serial)
		body = fmt.Sprintf(`{"description":%q}`, d)
		changed = true
		apply = func() { target.desc = d }
	}
	got := m.api(c, "PATCH", "/v1/tokens/"+target.id, body)
	op := fmt.Sprintf("update %s %s by %s", target.id, body, c)
	want := m.changeable(c, target, "apikeys:modify")
	m.check(op, got, want)
	if got.status != http.StatusOK {
		return op, 0
	}
	m.invariantChange(op, c, target)
	apply()
	if changed {
		return op, 1
	}
	return op, 0
}

// invariantChange is invariant 2, checked on every successful change.
func (m *model) invariantChange(op string, c mCaller, target *mCred) {
	if !m.inTree(c.cred.account, target) || !covers(c.perms(), target.perms) {
		m.t.Errorf("%s: INVARIANT: changed %s (perms %v, account %s) from %s with %v", op, target.id, target.perms, target.account, c.cred.account, c.perms())
	}
	if target.dead {
		m.t.Errorf("%s: INVARIANT: a dead token was changed", op)
	}
}

func (m *model) rotate() (string, int64) {
	c := m.caller()
	target := m.targetFor(c)
	if m.chance(0.1) {
		target = m.keeper
	}
	grace := 0
	if m.chance(0.4) {
		grace = 600 + m.pick(3000)
	}
	req := map[string]any{"grace_seconds": grace}
	var key *ecdsa.PrivateKey
	if target.kind == credential.KindPublicKey {
		key = m.newKey()
		req["public_key"] = m.pem(key)
	}
	b, _ := json.Marshal(req)
	got := m.api(c, "POST", "/v1/tokens/"+target.id+"/rotate", string(b))
	op := fmt.Sprintf("rotate %s grace %ds by %s", target.id, grace, c)
	want := m.changeable(c, target, "apikeys:modify")
	m.check(op, got, want)
	if got.status != http.StatusOK {
		return op, 0
	}
	m.invariantChange(op, c, target)
	if held := toStrings(got.body["permissions"]); !covers(c.perms(), held) {
		m.t.Errorf("%s: INVARIANT: rotation handed out a token holding %v beyond the caller's %v", op, held, c.perms())
	}
	// What the last rotation kept for its grace is replaced now.
	m.retire(target.prev, target.id, target.prevKey)
	target.prev, target.prevKey, target.until = "", nil, time.Time{}
	if grace > 0 {
		target.prev, target.prevKey, target.until = target.token, target.key, m.now().Add(time.Duration(grace)*time.Second)
	} else {
		m.retire(target.token, target.id, target.key)
	}
	if key != nil {
		target.key = key
	} else {
		target.token = got.body["token"].(string)
	}
	return op, 1
}

func (m *model) retire(token, id string, key *ecdsa.PrivateKey) {
	if token != "" {
		m.retiredTokens = append(m.retiredTokens, token)
	}
	if key != nil {
		m.retiredKeys = append(m.retiredKeys, retiredKey{id: id, key: key})
	}
}

// retireDead retires what time has ended: grace periods, and the
// credentials of tokens past their day.
func (m *model) retireDead() {
	now := m.now()
	for _, c := range m.creds {
		if (c.prev != "" || c.prevKey != nil) && !now.Before(c.until) {
			m.retire(c.prev, c.id, c.prevKey)
			c.prev, c.prevKey = "", nil
		}
		if !c.dead && c.effStatus(now) == credential.StatusExpired {
			c.dead = true
		}
	}
}

func (m *model) revoke() (string, int64) {
	c := m.caller()
	target := m.targetFor(c)
	if !m.spare(target) {
		return m.use()
	}
	got := m.api(c, "DELETE", "/v1/tokens/"+target.id, "")
	op := fmt.Sprintf("revoke %s by %s", target.id, c)
	want := m.changeable(c, target, "apikeys:delete")
	var events int64
	switch {
	case want == http.StatusConflict && target.status == credential.StatusRevoked:
		want = http.StatusNoContent // revoking twice is fine, and writes nothing
	case want == http.StatusOK:
		want, events = http.StatusNoContent, 1
	}
	m.check(op, got, want)
	if got.status == http.StatusNoContent && events == 1 {
		m.invariantChange(op, c, target)
		m.kill(target)
	}
	return op, events
}

func (m *model) kill(c *mCred) {
	c.status, c.dead = credential.StatusRevoked, true
	m.retire(c.prev, c.id, c.prevKey)
	c.prev, c.prevKey = "", nil
}

// oauthRevoke revokes through RFC 7009: a bearer (API token or access
// token) or a secret token's own client authentication.
func (m *model) oauthRevoke() (string, int64) {
	c := m.caller()
	target := m.targetFor(c)
	if c.form == "assertion" {
		c.form = "client-assertion"
	}
	if m.chance(0.3) && c.cred != m.keeper {
		target = c.cred // its own
	}
	if !m.spare(target) {
		return m.use()
	}
	f := url.Values{"token": {target.id}}
	authz := ""
	switch c.form {
	case "token", "access":
		authz = m.bearer(c)
	case "client-assertion":
		f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		f.Set("client_assertion", m.assertion(c.cred.id, c.cred.key, clientkey.OAuthAudience(m.srv.Issuer)))
	}
	got := m.form(c.ip, "/oauth/revoke", authz, f)
	op := fmt.Sprintf("oauth-revoke %s by %s", target.id, c)
	viaBearer := c.form == "token" || c.form == "access"
	self := target.id == c.cred.id
	want, events := http.StatusOK, int64(0)
	now := m.now()
	switch {
	case c.access != nil && !c.access.liveAt(now):
		want = http.StatusUnauthorized // the access token itself has expired
	case c.cred.effStatus(now) != credential.StatusActive:
		want = http.StatusUnauthorized
	case !ipAllowed(c.cred.allowed, c.ip) && viaBearer:
		want = http.StatusForbidden // a bearer from outside its allowlist: access_denied
	case !ipAllowed(c.cred.allowed, c.ip):
		want = http.StatusBadRequest // a client from outside its allowlist: unauthorized_client
	case !self && !allows(c.perms(), "apikeys:delete") && viaBearer:
		want = http.StatusForbidden
	case !self && !allows(c.perms(), "apikeys:delete"):
		want = http.StatusBadRequest
	case !m.inTree(c.cred.account, target):
	case !covers(c.perms(), target.perms):
		want = http.StatusForbidden
	case target.effStatus(now) == credential.StatusActive || target.effStatus(now) == credential.StatusInactive:
		events = 1
	}
	m.check(op, got, want)
	if got.status == http.StatusOK && events == 1 {
		m.invariantChange(op, c, target)
		m.kill(target)
	}
	return op, events
}

// exchange runs the client-credentials grant with the client's secret or a
// private_key_jwt assertion, for a random scope.
func (m *model) exchange() (string, int64) {
	c := m.target()
	ip := addrs[m.pick(len(addrs))]
	f := url.Values{"grant_type": {"client_credentials"}}
	scope := slices.Clone(c.perms)
	if m.chance(0.7) {
		scope = m.permsFor(c.perms)
		f.Set("scope", strings.Join(scope, " "))
	}
	authz := ""
	if c.kind == credential.KindSecret {
		id, secret, _ := strings.Cut(strings.TrimPrefix(c.token, "lk_"), "_")
		authz = "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	} else {
		f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		f.Set("client_assertion", m.assertion(c.id, c.key, clientkey.OAuthAudience(m.srv.Issuer)))
	}
	got := m.form(ip, "/oauth/token", authz, f)
	op := fmt.Sprintf("exchange %s scope %v from %s", c.id, scope, ip)
	now := m.now()
	want, events := http.StatusOK, int64(1)
	switch {
	case c.effStatus(now) == credential.StatusActive && !ipAllowed(c.allowed, ip):
		want, events = http.StatusBadRequest, 0
	case c.effStatus(now) != credential.StatusActive:
		want, events = http.StatusUnauthorized, 0
	case !covers(c.perms, scope):
		want, events = http.StatusBadRequest, 0
	}
	m.check(op, got, want)
	if got.status != http.StatusOK {
		return op, events
	}
	granted := strings.Fields(fmt.Sprint(got.body["scope"]))
	if !covers(c.perms, granted) {
		m.t.Errorf("%s: INVARIANT: an access token for %v beyond the token's %v", op, granted, c.perms)
	}
	if c.dead {
		m.t.Errorf("%s: INVARIANT: a dead token obtained an access token", op)
	}
	exp := now.Truncate(time.Second).Add(modelIssuerLifetime)
	if !c.expires.IsZero() && c.expires.Before(exp) {
		exp = c.expires.Truncate(time.Second)
	}
	m.access = append(m.access, &mAccess{raw: got.body["access_token"].(string), client: c.id, scope: granted, exp: exp})
	return op, events
}

func (m *model) forgetExpiredAccess() {
	now := m.now()
	m.access = slices.DeleteFunc(m.access, func(a *mAccess) bool { return !now.Before(a.exp.Add(2 * time.Minute)) })
	if len(m.access) > 40 {
		m.access = m.access[len(m.access)-40:]
	}
}

// use calls whoami: it works exactly when the credential does, and shows
// the caller's effective permissions.
func (m *model) use() (string, int64) {
	c := m.caller()
	got := m.api(c, "GET", "/v1/whoami", "")
	op := fmt.Sprintf("use by %s", c)
	want := http.StatusOK
	if !m.authenticates(c) {
		want = http.StatusUnauthorized
	}
	m.check(op, got, want)
	if got.status == http.StatusOK {
		if c.cred.dead {
			m.t.Errorf("%s: INVARIANT: a dead token works", op)
		}
		shown, perms := toStrings(got.body["permissions"]), slices.Clone(c.perms())
		slices.Sort(shown)
		slices.Sort(perms)
		if !slices.Equal(shown, perms) {
			m.t.Errorf("%s: effective permissions %v, want %v", op, shown, c.perms())
		}
	}
	return op, 0
}

// retired presents a rotated-out token or key, which must never work.
func (m *model) retired() (string, int64) {
	ip := addrs[m.pick(len(addrs))]
	if len(m.retiredTokens) > 0 && (len(m.retiredKeys) == 0 || m.chance(0.5)) {
		tok := m.retiredTokens[m.pick(len(m.retiredTokens))]
		got := m.send(ip, "GET", "/v1/whoami", "Bearer "+tok, "", "")
		op := "retired token " + tok[:19]
		if got.status != http.StatusUnauthorized {
			m.t.Errorf("%s: INVARIANT: a rotated-out token answered %d", op, got.status)
		}
		return op, 0
	}
	if len(m.retiredKeys) > 0 {
		k := m.retiredKeys[m.pick(len(m.retiredKeys))]
		got := m.send(ip, "GET", "/v1/whoami", "Bearer "+m.assertion(k.id, k.key, clientkey.APIAudience(m.srv.Issuer)), "", "")
		op := "retired key of " + k.id
		if got.status != http.StatusUnauthorized {
			m.t.Errorf("%s: INVARIANT: a rotated-out key answered %d", op, got.status)
		}
		return op, 0
	}
	return m.use()
}

func (m *model) newKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		m.t.Fatal(err)
	}
	return k
}

func (m *model) pem(k *ecdsa.PrivateKey) string {
	p, err := pubkey.Encode(&k.PublicKey)
	if err != nil {
		m.t.Fatal(err)
	}
	return p
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// roleNames are the few names roles are drawn from, so that names clash.
var roleNames = []string{"reader", "writer", "auditor", "ops"}

// roleFor finds the role a name means on an account path: the nearest
// definition, from the account up.
func (m *model) roleFor(path []string, name string) ([]string, bool) {
	for i := len(path) - 1; i >= 0; i-- {
		if perms, ok := m.roles[path[i]][name]; ok {
			return slices.Clone(perms), true
		}
	}
	return nil, false
}

// roleNameTaken reports whether name is defined on the path of the account
// at path (itself or above) or anywhere below it: a name means one role
// along any path.
func (m *model) roleNameTaken(path []string, name string) bool {
	acct := path[len(path)-1]
	for _, a := range m.accounts {
		if _, ok := m.roles[a.id][name]; !ok {
			continue
		}
		if slices.Contains(path, a.id) || slices.Contains(a.path, acct) {
			return true
		}
	}
	return false
}

// createRole defines a role in the caller's account: its permissions are
// bounded by the caller's, like a token's.
func (m *model) createRole() (string, int64) {
	c := m.caller()
	name := roleNames[m.pick(len(roleNames))]
	perms := m.permsFor(c.perms())
	b, _ := json.Marshal(map[string]any{"name": name, "permissions": perms})
	got := m.api(c, "POST", "/v1/roles", string(b))
	op := fmt.Sprintf("create-role %s %v in %s by %s", name, perms, c.cred.account, c)
	want, events := http.StatusCreated, int64(1)
	switch {
	case !m.authenticates(c):
		want, events = http.StatusUnauthorized, 0
	case !allows(c.perms(), "roles:modify") || readOnly(c.perms()):
		want, events = http.StatusForbidden, 0
	case !covers(c.perms(), perms):
		want, events = http.StatusForbidden, 0
	case m.roleNameTaken(c.cred.path, name):
		want, events = http.StatusConflict, 0
	}
	m.check(op, got, want)
	if got.status == http.StatusCreated {
		if held := toStrings(got.body["permissions"]); !covers(c.perms(), held) {
			m.t.Errorf("%s: INVARIANT: a role holding %v beyond the caller's %v", op, held, c.perms())
		}
		if m.roles[c.cred.account] == nil {
			m.roles[c.cred.account] = map[string][]string{}
		}
		m.roles[c.cred.account][name] = perms
	}
	return op, events
}

// introspect asks RFC 7662 about a token: active exactly when it is usable
// and in the caller's tree, and nothing about a token outside it.
func (m *model) introspect() (string, int64) {
	c, target := m.caller(), m.target()
	f := url.Values{}
	var scope []string
	now := m.now()
	active := false
	if len(m.access) > 0 && m.chance(0.4) {
		a := m.access[m.pick(len(m.access))]
		target = m.byID[a.client]
		f.Set("token", a.raw)
		scope = a.scope
		active = a.liveAt(now)
	} else {
		if target.kind != credential.KindSecret {
			return m.use()
		}
		f.Set("token", target.token)
		scope = target.perms
		active = true
	}
	active = active && m.inTree(c.cred.account, target) && target.effStatus(now) == credential.StatusActive
	authz := ""
	form := c.form
	switch form {
	case "token", "access":
		authz = m.bearer(c)
	case "assertion":
		form = "client-assertion"
		f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		f.Set("client_assertion", m.assertion(c.cred.id, c.cred.key, clientkey.OAuthAudience(m.srv.Issuer)))
	}
	got := m.form(c.ip, "/oauth/introspect", authz, f)
	op := fmt.Sprintf("introspect %s by %s", target.id, c)
	viaBearer := form == "token" || form == "access"
	want := http.StatusOK
	switch {
	case c.access != nil && !c.access.liveAt(now):
		want = http.StatusUnauthorized
	case c.cred.effStatus(now) != credential.StatusActive:
		want = http.StatusUnauthorized
	case !ipAllowed(c.cred.allowed, c.ip) && viaBearer:
		want = http.StatusForbidden
	case !ipAllowed(c.cred.allowed, c.ip):
		want = http.StatusBadRequest
	case !allows(c.perms(), "apikeys:view"):
		want = http.StatusForbidden
	}
	m.check(op, got, want)
	if got.status != http.StatusOK {
		return op, 0
	}
	if isActive, _ := got.body["active"].(bool); isActive != active {
		m.t.Errorf("%s: active %v, want %v", op, isActive, active)
	} else if isActive {
		shown, want := strings.Fields(fmt.Sprint(got.body["scope"])), slices.Clone(scope)
		slices.Sort(shown)
		slices.Sort(want)
		if !slices.Equal(shown, want) {
			m.t.Errorf("%s: scope %v, want %v", op, shown, want)
		}
	}
	return op, 0
}

// syncBuffer is a bytes.Buffer that the server's goroutines may write to
// while the test reads it. It keeps only the latest lines, so a long run
// (make fuzz) does not grow it without bound.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		b.buf.Next(b.buf.Len() - 16<<10)
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
