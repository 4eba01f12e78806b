package route

import "strings"

// AccountParam is the path parameter naming the account a route acts on.
const AccountParam = "{account}"

// Authorizers. Both run the same Lambda function; they differ only in what
// API Gateway caches their decisions by. A decision on an account-scoped
// route depends on the account in the path (the token's own, one below it,
// or another), which no IAM resource pattern can express for a tree of
// opaque account IDs, so those routes key their cache by the path too.
const (
	// AuthorizerToken guards every protected route that names no account:
	// one cached decision per credential and source address serves them all.
	AuthorizerToken = "token"
	// AuthorizerAccount guards the routes under /v1/accounts/{account}.
	AuthorizerAccount = "account"
)

// Identity sources, as API Gateway REST mapping expressions.
const (
	IdentityAuthorization = "method.request.header.Authorization"
	IdentitySourceIP      = "context.identity.sourceIp"
	IdentityPath          = "context.path"
)

// AccountScoped reports whether the route acts on the account named in its path.
func (r Route) AccountScoped() bool { return strings.Contains(r.Path, "/"+AccountParam) }

// Authorizer names the authorizer guarding r, or "" for a public route.
func (r Route) Authorizer() string {
	switch {
	case !r.Protected:
		return ""
	case r.AccountScoped():
		return AuthorizerAccount
	}
	return AuthorizerToken
}

// IdentitySources are what API Gateway keys an authorizer's cached
// decisions by. The source IP is always one of them, so a decision made for
// an allowlisted address is never reused for another.
func IdentitySources(authorizer string) []string {
	if authorizer == AuthorizerAccount {
		return []string{IdentityAuthorization, IdentitySourceIP, IdentityPath}
	}
	return []string{IdentityAuthorization, IdentitySourceIP}
}

// AccountInPath returns the account a concrete path names when it is that of
// an account-scoped route, without allocating (the authorizer calls it on
// every decision).
func AccountInPath(path string) (string, bool) {
	for _, t := range accountTemplates {
		if !strings.HasPrefix(path, t.prefix) {
			continue
		}
		if acct, ok := matchAccount(t.path, path); ok {
			return acct, true
		}
	}
	return "", false
}

// accountTemplates are the account-scoped routes' paths, each with the
// literal part before {account}, which rules most paths out at once.
var accountTemplates = func() []struct{ prefix, path string } {
	var out []struct{ prefix, path string }
	for _, r := range All {
		if i := strings.Index(r.Path, "/"+AccountParam); i >= 0 {
			out = append(out, struct{ prefix, path string }{r.Path[:i+1], r.Path})
		}
	}
	return out
}()

// matchAccount matches path against template segment by segment, resolving
// path as Match does, and returns the {account} segment.
func matchAccount(template, path string) (string, bool) {
	p, ok := strings.CutPrefix(path, "/")
	if !ok {
		return "", false
	}
	p = strings.TrimSuffix(p, "/")
	t := template[1:]
	acct := ""
	for {
		ts, trest, tmore := strings.Cut(t, "/")
		ps, prest, pmore := strings.Cut(p, "/")
		switch {
		case ps == "":
			// An empty segment reaches no resource.
			return "", false
		case ts == AccountParam:
			acct = ps
		case strings.HasPrefix(ts, "{"):
		case ts != ps:
			return "", false
		}
		if tmore != pmore {
			return "", false
		}
		if !tmore {
			return acct, acct != ""
		}
		t, p = trest, prest
	}
}
