// Package policy builds and evaluates the IAM policies a REST API Lambda
// authorizer returns. A policy lists every route of the API — Allow where the
// credential may call it, Deny elsewhere — so a decision that API Gateway
// caches for one route stays right for all the others. Routes that name an
// account in their path are listed per allowed account.
package policy

import (
	"strings"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/route"
)

// MethodARN is a parsed execute-api ARN:
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}.
type MethodARN struct {
	// Base is everything up to and including "{stage}/".
	Base   string
	Method string
	Path   string
}

// ParseMethodARN splits a method ARN. ok is false when it is not one. It
// slices the ARN in one pass without allocating: the authorizer parses one
// per decision.
func ParseMethodARN(arn string) (MethodARN, bool) {
	if !strings.HasPrefix(arn, "arn:") {
		return MethodARN{}, false
	}
	// arn:partition:service:region:account:{apiId}/{stage}/{METHOD}[/{path}]
	colons, slashes := 0, 0
	serviceStart, baseLen, methodEnd := 0, 0, len(arn)
	for i := 0; i < len(arn); i++ {
		switch {
		case colons < 5 && arn[i] == ':':
			colons++
			switch colons {
			case 2:
				serviceStart = i + 1
			case 3:
				if arn[serviceStart:i] != "execute-api" {
					return MethodARN{}, false
				}
			}
		case colons == 5 && arn[i] == '/':
			slashes++
			switch slashes {
			case 2:
				baseLen = i + 1
			case 3:
				methodEnd = i
			}
		}
		if slashes == 3 {
			break
		}
	}
	if colons < 5 || slashes < 2 {
		return MethodARN{}, false
	}
	return splitTail(arn, baseLen, methodEnd), true
}

// ARNParser is ParseMethodARN remembering the last base it parsed: one
// authorizer serves one API, so nearly every ARN starts with the same
// "arn:…:{apiId}/{stage}/", and only the method and path are left to split.
// Safe for concurrent use.
type ARNParser struct {
	base atomic.Pointer[string]
}

// Parse is ParseMethodARN.
func (p *ARNParser) Parse(arn string) (MethodARN, bool) {
	if b := p.base.Load(); b != nil && len(arn) > len(*b) && arn[:len(*b)] == *b && arn[len(*b)] != '/' {
		methodEnd := strings.IndexByte(arn[len(*b):], '/')
		if methodEnd < 0 {
			methodEnd = len(arn)
		} else {
			methodEnd += len(*b)
		}
		return splitTail(arn, len(*b), methodEnd), true
	}
	m, ok := ParseMethodARN(arn)
	if ok {
		p.base.Store(&m.Base)
	}
	return m, ok
}

func splitTail(arn string, baseLen, methodEnd int) MethodARN {
	path := "/"
	if methodEnd < len(arn) {
		path = arn[methodEnd:]
	}
	return MethodARN{Base: arn[:baseLen], Method: arn[baseLen:methodEnd], Path: path}
}

// spelled is the ARN of method on a path template with {account} set to
// account and every other parameter to param, ending in a slash unless it
// ends in "*". API Gateway routes a path with one trailing slash to the
// resource without it but hands the authorizer the path as requested, so a
// policy must name both spellings; building the slashed one in one
// allocation lets the bare one be a slice of it (see spellings).
func (m MethodARN) spelled(method, template, account, param string) string {
	var b strings.Builder
	b.Grow(len(m.Base) + len(method) + len(template) + len(account) + 1)
	b.WriteString(m.Base)
	b.WriteString(method)
	last := ""
	for rest, more := strings.TrimPrefix(template, "/"), template != ""; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, "/")
		switch {
		case seg == route.AccountParam:
			seg = account
		case strings.HasPrefix(seg, "{"):
			seg = param
		}
		b.WriteByte('/')
		b.WriteString(seg)
		last = seg
	}
	if last != "*" {
		b.WriteByte('/')
	}
	return b.String()
}

// spellings splits a spelled resource into its bare spelling and, when it
// ends in a slash, the slashed one; "" when the bare pattern already ends in
// "*", which covers the trailing slash itself.
func spellings(s string) (bare, slashed string) {
	if strings.HasSuffix(s, "/") {
		return s[:len(s)-1], s
	}
	return s, ""
}

// appendSpellings appends the bare spelling of a spelled resource and, if
// both, the slashed one.
func appendSpellings(to []string, s string, both bool) []string {
	bare, slashed := spellings(s)
	to = append(to, bare)
	if both && slashed != "" {
		to = append(to, slashed)
	}
	return to
}

// Allows reports whether perms may call r: its permission, and for a
// read-only credential (only view permissions) a safe method.
func Allows(perms permission.Set, r route.Route) bool {
	if r.Permission != "" && !perms.Allows(r.Permission) {
		return false
	}
	if perms.ReadOnly() && !route.Safe(r.Method) {
		return false
	}
	return true
}

// ForCaller builds the policy for a credential: an Allow statement with
// every protected route it may call and a Deny statement with the routes it
// may not, plus extra denied resources. Routes under /v1/accounts/{account}
// are allowed only for the listed accounts (the caller's own, and the one in
// the request's path when it lies below); every other account is refused
// because no allowed pattern covers it.
//
// API Gateway sends a path with one trailing slash to the route without it,
// and one cached decision serves every route, so each route gets the same
// answer in both spellings: an allowed route is listed as …/whoami and
// …/whoami/, unless a pattern ending in "*" (its own or, see
// slashCoveredBy, an allowed neighbour's) covers the slashed one.
//
// IAM's "*" also matches "/" and the empty string, so the pattern of one
// route can cover another (GET …/tokens/* covers GET …/tokens/x/rotate and
// the list route's GET …/tokens/). A Deny is therefore listed only when it
// covers no allowed resource in either spelling; a route left out is still
// refused, implicitly, unless an allowed pattern covers it — and then it is
// always listed, because its own pattern never covers a shorter allowed
// route. A route's slashed spelling is denied only where another route's
// allowed pattern covers it (slashCoveredBy), which keeps denied literal
// routes from doubling the policy. TestPolicyMatchesPermissionsExhaustively
// checks all this for every combination of the catalogue's permissions and
// accounts, in both spellings.
func ForCaller(arn MethodARN, perms permission.Set, accounts []string, extraDeny ...string) events.APIGatewayCustomAuthorizerPolicy {
	// samples are concrete paths of the allowed routes, slashed; a sample
	// without its last byte is the bare spelling.
	var allow, samples, deny []string
	denied := false
	for i, r := range route.All {
		if !r.Protected {
			continue
		}
		if !Allows(perms, r) {
			denied = true
			continue
		}
		// Where an allowed pattern of another route covers this one's
		// slashed spelling, the bare one is enough.
		both := !anyAllowed(perms, slashCoveredBy[i])
		if !r.AccountScoped() {
			allow = appendSpellings(allow, arn.spelled(r.Method, r.Path, "*", "*"), both)
			samples = append(samples, arn.spelled(r.Method, r.Path, "x", "x"))
			continue
		}
		for _, a := range accounts {
			if account.ValidID(a) != nil {
				// Never put a wildcard or a path separator from a request
				// into a resource pattern.
				continue
			}
			allow = appendSpellings(allow, arn.spelled(r.Method, r.Path, a, "*"), both)
			samples = append(samples, arn.spelled(r.Method, r.Path, a, "x"))
		}
	}
	for i, r := range route.All {
		if !denied || !r.Protected || Allows(perms, r) {
			continue
		}
		bare, slashed := spellings(arn.spelled(r.Method, r.Path, "*", "*"))
		if !coversSample(bare, samples) {
			deny = append(deny, bare)
		}
		if slashed != "" && anyAllowed(perms, slashCoveredBy[i]) && !coversSample(slashed, samples) {
			deny = append(deny, slashed)
		}
	}
	deny = append(deny, extraDeny...)
	p := events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17"}
	if len(allow) > 0 {
		p.Statement = append(p.Statement, events.IAMPolicyStatement{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: allow})
	}
	if len(deny) > 0 {
		p.Statement = append(p.Statement, events.IAMPolicyStatement{Action: []string{"execute-api:Invoke"}, Effect: "Deny", Resource: deny})
	}
	return p
}

// coversSample reports whether pattern covers a sample in either spelling.
func coversSample(pattern string, samples []string) bool {
	for _, s := range samples {
		if Match(pattern, s) || Match(pattern, s[:len(s)-1]) {
			return true
		}
	}
	return false
}

func anyAllowed(perms permission.Set, routes []int) bool {
	for _, j := range routes {
		if Allows(perms, route.All[j]) {
			return true
		}
	}
	return false
}

// slashCoveredBy lists, for each route, the other protected routes whose
// patterns cover its slashed spelling (GET /v1/tokens/{id} covers GET
// /v1/tokens/): only when one of those is allowed does a denied route need
// its slashed spelling listed, and then an allowed route need not list it.
// It depends on the route table alone.
var slashCoveredBy = func() [][]int {
	var m MethodARN
	out := make([][]int, len(route.All))
	for i, r := range route.All {
		sample := m.spelled(r.Method, r.Path, "acme", "x")
		for j, o := range route.All {
			if j == i || !o.Protected {
				continue
			}
			bare, slashed := spellings(m.spelled(o.Method, o.Path, "acme", "*"))
			if Match(bare, sample) || slashed != "" && Match(slashed, sample) {
				out[i] = append(out[i], j)
			}
		}
	}
	return out
}()

// SampleIn is a concrete path of a route template, each parameter one
// segment: {account} set to account, every other to "x".
func SampleIn(template, account string) string {
	bare, _ := spellings(MethodARN{}.spelled("", template, account, "x"))
	return bare
}

// DenyAll is a policy refusing every route.
func DenyAll(arn MethodARN) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
		{Action: []string{"execute-api:Invoke"}, Effect: "Deny", Resource: []string{arn.Base + "*"}},
	}}
}

// Evaluate decides a request's method ARN against a policy as IAM does for
// execute-api: an explicit Deny wins, otherwise an Allow is needed.
func Evaluate(p events.APIGatewayCustomAuthorizerPolicy, methodARN string) bool {
	allowed := false
	for _, st := range p.Statement {
		if !actionMatches(st.Action) {
			continue
		}
		for _, res := range st.Resource {
			if !Match(res, methodARN) {
				continue
			}
			switch st.Effect {
			case "Deny":
				return false
			case "Allow":
				allowed = true
			}
		}
	}
	return allowed
}

func actionMatches(actions []string) bool {
	for _, a := range actions {
		if a == "execute-api:Invoke" || a == "execute-api:*" || a == "*" {
			return true
		}
	}
	return false
}

// Match is IAM's resource wildcard match: "*" any run of characters
// (including "/"), "?" any one character.
func Match(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
