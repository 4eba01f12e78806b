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

// Resource is the ARN of a method on a path, with path parameters as "*".
func (m MethodARN) Resource(method, pathTemplate string) string {
	return m.ResourceIn(method, pathTemplate, "*")
}

// ResourceIn is Resource with the {account} parameter set to account.
func (m MethodARN) ResourceIn(method, pathTemplate, account string) string {
	segs := strings.Split(strings.TrimPrefix(pathTemplate, "/"), "/")
	for i, s := range segs {
		switch {
		case s == route.AccountParam:
			segs[i] = account
		case strings.HasPrefix(s, "{"):
			segs[i] = "*"
		}
	}
	return m.Base + method + "/" + strings.Join(segs, "/")
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
// IAM's "*" also matches "/", so the pattern of one route can cover another
// (GET …/tokens/* covers GET …/tokens/x/rotate). A Deny is therefore
// listed only when it covers no allowed resource; a route left out is still
// refused, implicitly, unless an allowed pattern covers it — and then it is
// always listed, because its own pattern never covers a shorter allowed
// route. TestPolicyMatchesPermissionsExhaustively checks this for every
// combination of the catalogue's permissions and accounts.
func ForCaller(arn MethodARN, perms permission.Set, accounts []string, extraDeny ...string) events.APIGatewayCustomAuthorizerPolicy {
	var allow, samples, deny []string
	var denied []route.Route
	for _, r := range route.All {
		if !r.Protected {
			continue
		}
		if !Allows(perms, r) {
			denied = append(denied, r)
			continue
		}
		if !r.AccountScoped() {
			allow = append(allow, arn.Resource(r.Method, r.Path))
			samples = append(samples, arn.Resource(r.Method, Sample(r.Path)))
			continue
		}
		for _, a := range accounts {
			if account.ValidID(a) != nil {
				// Never put a wildcard or a path separator from a request
				// into a resource pattern.
				continue
			}
			res := arn.ResourceIn(r.Method, r.Path, a)
			allow = append(allow, res)
			samples = append(samples, arn.Resource(r.Method, SampleIn(r.Path, a)))
		}
	}
	for _, r := range denied {
		res := arn.Resource(r.Method, r.Path)
		coversAllowed := false
		for _, s := range samples {
			if Match(res, s) {
				coversAllowed = true
				break
			}
		}
		if !coversAllowed {
			deny = append(deny, res)
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

// Sample is a concrete path of a route template, each parameter one segment.
func Sample(template string) string { return SampleIn(template, "x") }

// SampleIn is Sample with the {account} parameter set to account.
func SampleIn(template, account string) string {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		switch {
		case s == route.AccountParam:
			segs[i] = account
		case strings.HasPrefix(s, "{"):
			segs[i] = "x"
		}
	}
	return strings.Join(segs, "/")
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
