// Package policy builds and evaluates the IAM policies a REST API Lambda
// authorizer returns. A policy lists every route of the API — Allow where the
// credential may call it, Deny elsewhere — so a decision that API Gateway
// caches for one route stays right for all the others.
package policy

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"

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

// ParseMethodARN splits a method ARN. ok is false when it is not one.
func ParseMethodARN(arn string) (MethodARN, bool) {
	if !strings.HasPrefix(arn, "arn:") {
		return MethodARN{}, false
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "execute-api" {
		return MethodARN{}, false
	}
	segs := strings.SplitN(parts[5], "/", 4)
	if len(segs) < 3 {
		return MethodARN{}, false
	}
	path := "/"
	if len(segs) == 4 {
		path += segs[3]
	}
	base := strings.Join(parts[:5], ":") + ":" + segs[0] + "/" + segs[1] + "/"
	return MethodARN{Base: base, Method: segs[2], Path: path}, true
}

// Resource is the ARN of a method on a path, with path parameters as "*".
func (m MethodARN) Resource(method, pathTemplate string) string {
	segs := strings.Split(strings.TrimPrefix(pathTemplate, "/"), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
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

// ForPermissions builds the policy for a credential: an Allow statement with
// every protected route it may call and a Deny statement with the routes it
// may not, plus extra denied resources.
//
// IAM's "*" also matches "/", so the pattern of one route can cover another
// (GET …/accounts/* covers GET …/accounts/x/tokens). A Deny is therefore
// listed only when it covers no allowed route; a route left out is still
// refused, implicitly, unless an allowed pattern covers it — and then it is
// always listed, because its own pattern never covers a shorter allowed
// route. TestPolicyMatchesPermissionsExhaustively checks this for every
// combination of the catalogue's permissions.
func ForPermissions(arn MethodARN, perms permission.Set, extraDeny ...string) events.APIGatewayCustomAuthorizerPolicy {
	var allowed, denied []route.Route
	for _, r := range route.All {
		if !r.Protected {
			continue
		}
		if Allows(perms, r) {
			allowed = append(allowed, r)
		} else {
			denied = append(denied, r)
		}
	}
	var allow, deny []string
	for _, r := range allowed {
		allow = append(allow, arn.Resource(r.Method, r.Path))
	}
	for _, r := range denied {
		res := arn.Resource(r.Method, r.Path)
		coversAllowed := false
		for _, a := range allowed {
			if Match(res, arn.Resource(a.Method, Sample(a.Path))) {
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
func Sample(template string) string {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
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
