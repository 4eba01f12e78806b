package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/authorizer"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

// TestAccessLogFormat: one JSON object of context variables with the
// fields that trace a request to its credential, and nothing that can
// carry a secret (no header, no body).
func TestAccessLogFormat(t *testing.T) {
	t.Parallel()
	var rec map[string]string
	if err := json.Unmarshal([]byte(AccessLogFormat()), &rec); err != nil {
		t.Fatalf("%s: %v", AccessLogFormat(), err)
	}
	if len(rec) != len(AccessLogFields) {
		t.Errorf("%d fields in the format, %d listed: a name is repeated", len(rec), len(AccessLogFields))
	}
	vars := map[string]bool{}
	for name, v := range rec {
		vars[v] = true
		if !strings.HasPrefix(v, "$context.") || strings.ContainsAny(v[1:], "$ ") {
			t.Errorf("%s: %q is not one context variable", name, v)
		}
		if l := strings.ToLower(v); strings.Contains(l, "header") || strings.Contains(l, "body") ||
			strings.Contains(l, "requestoverride") || strings.Contains(l, "responseoverride") || strings.Contains(l, "apikey") {
			t.Errorf("%s: %s may carry a secret", name, v)
		}
	}
	for _, v := range []string{
		"$context.requestId", "$context.identity.sourceIp", "$context.identity.caller", "$context.identity.user",
		"$context.requestTime", "$context.httpMethod", "$context.resourcePath", "$context.status",
		"$context.protocol", "$context.responseLength",
		"$context.authorizer.principalId", "$context.authorizer.error", "$context.authorizer.latency",
		"$context.error.responseType", "$context.error.message", "$context.path", "$context.identity.userAgent",
	} {
		if !vars[v] {
			t.Errorf("the access log does not record %s", v)
		}
	}
	// The filters read these two fields.
	if rec[AccessLogStatus] != "$context.status" || rec[AccessLogResourcePath] != "$context.resourcePath" {
		t.Errorf("%s is %q, %s is %q", AccessLogStatus, rec[AccessLogStatus], AccessLogResourcePath, rec[AccessLogResourcePath])
	}
}

// accessLogLine is the line API Gateway writes for a request with these
// variables (the others filled in), decoded.
func accessLogLine(t *testing.T, vars map[string]string) map[string]any {
	t.Helper()
	line := AccessLogFormat()
	for _, f := range AccessLogFields {
		v, ok := vars[f.Variable]
		if !ok {
			v = "-"
		}
		line = strings.Replace(line, `"`+f.Variable+`"`, `"`+v+`"`, 1)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return rec
}

func TestAccessLogFiltersCountTheirAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path, status   string
		refusal, oauth bool
	}{
		{"/v1/tokens", "200", false, false},
		{"/v1/tokens", "401", true, false},
		{"/v1/accounts/{account}/tokens", "403", true, false},
		{"/oauth/token", "401", true, false},
		{"/oauth/token", "429", false, true},
		{"/v1/tokens", "429", false, false},
		{"/oauth/introspect", "429", false, false},
		{"/v1/tokens", "503", false, false},
		{"/oauth/token", "200", false, false},
	} {
		line := accessLogLine(t, map[string]string{"$context.resourcePath": tc.path, "$context.status": tc.status,
			"$context.path": "/" + StageName + tc.path})
		for pattern, want := range map[string]bool{RefusalsFilterPattern: tc.refusal, OAuthRateLimitedFilterPattern: tc.oauth} {
			got, err := matchFilter(pattern, line)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s %s: %s matched %v, want %v", tc.path, tc.status, pattern, got, want)
			}
		}
	}
}

// unavailableStore fails every credential read as DynamoDB does when it
// throttles or fails.
type unavailableStore struct{ *memstore.Store }

func (unavailableStore) GetCredential(context.Context, string) (credential.Credential, error) {
	return credential.Credential{}, store.ErrUnavailable
}

// TestCannotDecideFilterCountsOnlyFailures runs the authorizer with the
// logger Lambda's JSON format gives the functions (lambdaenv): the filter
// counts its one line when the store fails, and nothing when it refuses
// a credential (which Lambda's Errors metric counts all the same).
func TestCannotDecideFilterCountsOnlyFailures(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(root, "events", "authorizer-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := apitoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		store authorizer.Store
		want  int
	}{
		{"store unavailable", unavailableStore{memstore.New()}, 1},
		{"unknown credential", memstore.New(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr}))
			var req events.APIGatewayCustomAuthorizerRequestTypeRequest
			if err := json.Unmarshal(raw, &req); err != nil {
				t.Fatal(err)
			}
			req.Headers["Authorization"] = "Bearer " + tok.String()
			req.MultiValueHeaders = nil
			if _, err := authorizer.New(authorizer.Config{Store: tc.store, Log: log}).Authorize(context.Background(), &req); err == nil {
				t.Fatal("allowed")
			}
			var matched int
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				ok, err := matchFilter(CannotDecideFilterPattern, rec)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					matched++
				}
			}
			if matched != tc.want {
				t.Errorf("%s matched %d lines, want %d:\n%s", CannotDecideFilterPattern, matched, tc.want, logs.String())
			}
		})
	}
}

// TestFlagFiltersMatchTheirKeys: the oauth function's marks (shared/oauth's
// tests show which lines carry them) are what the filters count.
func TestFlagFiltersMatchTheirKeys(t *testing.T) {
	t.Parallel()
	for pattern, key := range map[string]string{KMSThrottleFilterPattern: signer.ThrottledLogKey, SignFailureFilterPattern: signer.SignFailedLogKey} {
		for line, want := range map[string]bool{
			`{"message":"request failed","status":503,"` + key + `":true}`: true,
			`{"message":"request failed","status":503}`:                    false,
			`{"message":"request failed","` + key + `":false}`:             false,
		} {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			if got, err := matchFilter(pattern, rec); err != nil || got != want {
				t.Errorf("%s on %s: %v %v, want %v", pattern, line, got, err, want)
			}
		}
	}
}

// TestTableOperationsAreTheStoresCalls: the table alarms add up the
// metrics of every data-plane call the store adapter makes, and a
// CloudWatch alarm holds at most 10 metrics.
func TestTableOperationsAreTheStoresCalls(t *testing.T) {
	t.Parallel()
	// Set-up calls of `latchkey bootstrap` and `latchkey dev`, not of the functions.
	setup := []string{"CreateTable", "DescribeTable", "UpdateTimeToLive"}
	api := reflect.TypeOf((*dynamostore.API)(nil)).Elem()
	var calls []string
	for i := range api.NumMethod() {
		if m := api.Method(i).Name; !slices.Contains(setup, m) {
			calls = append(calls, m)
		}
	}
	if got := sortedCopy(TableOperations); !slices.Equal(got, sortedCopy(calls)) {
		t.Errorf("TableOperations %v, the store calls %v", got, calls)
	}
	if len(TableOperations)+1 > 10 {
		t.Errorf("%d operations: an alarm holds at most 10 metrics and expressions", len(TableOperations))
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func TestAlarmsAreWellFormed(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, a := range Alarms {
		if names[a.Name] || !isLogicalID(a.Name) {
			t.Errorf("alarm name %q repeated or not a logical ID", a.Name)
		}
		names[a.Name] = true
		if a.Description == "" || a.Threshold <= 0 || (a.Statistic != "Sum" && a.Statistic != "Maximum") {
			t.Errorf("%s: description %q, threshold %v, statistic %q", a.Name, a.Description, a.Threshold, a.Statistic)
		}
		_, isFunction := Lookup(a.On)
		switch {
		case a.Filter != nil:
			_, fn := Lookup(a.Filter.LogGroup)
			if a.On != "" || a.Namespace != MetricNamespace || (!fn && a.Filter.LogGroup != AccessLog) {
				t.Errorf("%s: a log metric in %s on %q, from log group %q", a.Name, a.Namespace, a.On, a.Filter.LogGroup)
			}
		case isFunction:
			if a.Namespace != "AWS/Lambda" {
				t.Errorf("%s: a function's metric in %s", a.Name, a.Namespace)
			}
		case a.On == AlarmOnTable:
			if a.Namespace != "AWS/DynamoDB" {
				t.Errorf("%s: a table metric in %s", a.Name, a.Namespace)
			}
		case a.On == AlarmOnAPI:
			if a.Namespace != "AWS/ApiGateway" {
				t.Errorf("%s: an API metric in %s", a.Name, a.Namespace)
			}
		case a.On == AlarmOnSweepDeadLetters:
			if a.Namespace != "AWS/SQS" {
				t.Errorf("%s: a queue metric in %s", a.Name, a.Namespace)
			}
		default:
			t.Errorf("%s: a metric on %q", a.Name, a.On)
		}
	}
	// The authorizer's Lambda Errors alarm counted every refused
	// credential; failures are counted from its logs instead.
	for _, a := range Alarms {
		if a.Metric == "Errors" && a.On == FunctionAuthorizer {
			t.Errorf("%s alarms on the authorizer's Lambda Errors, which count refusals", a.Name)
		}
	}
	for _, w := range ChangeWatches {
		if names[w.Name] || !isLogicalID(w.Name) || w.Description == "" || len(w.EventNames) == 0 || w.Param == "" ||
			!strings.HasPrefix(w.Source, "aws.") || w.EventSource != strings.TrimPrefix(w.Source, "aws.")+".amazonaws.com" {
			t.Errorf("change watch %+v", w)
		}
		names[w.Name] = true
	}
}

func isLogicalID(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// matchFilter evaluates a CloudWatch Logs JSON filter pattern of the forms
// the alarms use on a decoded log line: { COND }, where COND is
// $.field = "text" (the field is that string), $.field IS TRUE, a
// parenthesised COND, and COND && COND, COND || COND (&& binding tighter).
func matchFilter(pattern string, rec map[string]any) (bool, error) {
	p := strings.TrimSpace(pattern)
	if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") {
		return false, fmt.Errorf("%s: not a JSON filter pattern", pattern)
	}
	f := &filterParser{toks: tokenizeFilter(p[1 : len(p)-1]), rec: rec}
	v, err := f.or()
	if err == nil && f.pos != len(f.toks) {
		err = fmt.Errorf("trailing %v", f.toks[f.pos:])
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", pattern, err)
	}
	return v, nil
}

func tokenizeFilter(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ':
			i++
		case c == '(' || c == ')' || c == '=':
			toks = append(toks, string(c))
			i++
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return append(toks, s[i:])
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		default:
			j := strings.IndexAny(s[i:], " ()=\"")
			if j < 0 {
				j = len(s) - i
			}
			toks = append(toks, s[i:i+j])
			i += j
		}
	}
	return toks
}

type filterParser struct {
	toks []string
	pos  int
	rec  map[string]any
}

func (f *filterParser) next() string {
	if f.pos >= len(f.toks) {
		return ""
	}
	f.pos++
	return f.toks[f.pos-1]
}

func (f *filterParser) peek() string {
	if f.pos >= len(f.toks) {
		return ""
	}
	return f.toks[f.pos]
}

func (f *filterParser) or() (bool, error) {
	v, err := f.and()
	for err == nil && f.peek() == "||" {
		f.next()
		var w bool
		w, err = f.and()
		v = v || w
	}
	return v, err
}

func (f *filterParser) and() (bool, error) {
	v, err := f.term()
	for err == nil && f.peek() == "&&" {
		f.next()
		var w bool
		w, err = f.term()
		v = v && w
	}
	return v, err
}

func (f *filterParser) term() (bool, error) {
	tok := f.next()
	if tok == "(" {
		v, err := f.or()
		if err == nil && f.next() != ")" {
			err = fmt.Errorf("unclosed (")
		}
		return v, err
	}
	field, ok := strings.CutPrefix(tok, "$.")
	if !ok || field == "" {
		return false, fmt.Errorf("%q is not a selector", tok)
	}
	switch op := f.next(); op {
	case "=":
		lit := f.next()
		if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
			return false, fmt.Errorf("%q is not a quoted string", lit)
		}
		s, isString := f.rec[field].(string)
		return isString && s == lit[1:len(lit)-1], nil
	case "IS":
		if v := f.next(); v != "TRUE" {
			return false, fmt.Errorf("IS %s", v)
		}
		return f.rec[field] == true, nil
	default:
		return false, fmt.Errorf("operator %q", op)
	}
}

// section returns the text of a "### title" section of a markdown file.
func section(t *testing.T, file, title string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n### "+title+"\n")
	if !ok {
		t.Fatalf("%s has no section %q", file, title)
	}
	if i := strings.Index(rest, "\n### "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// TestOperationsDocsListEveryAlarm: the operators' docs say what every
// alarm and change watch means and what to do (a table row each), and
// what every access log field holds.
func TestOperationsDocsListEveryAlarm(t *testing.T) {
	t.Parallel()
	docs := filepath.Join(root, "docs", "operations.md")
	alarms := section(t, docs, "Alarms")
	row := func(name string) bool { return strings.Contains(alarms, "\n| `"+name+"` |") }
	for _, a := range Alarms {
		if _, isFunction := Lookup(a.On); isFunction && a.Metric == "Throttles" {
			if !row("<Function>Throttles") {
				t.Errorf("docs/operations.md, Alarms: no row for <Function>Throttles (%s)", a.Name)
			}
			continue
		}
		if !row(a.Name) {
			t.Errorf("docs/operations.md, Alarms: no row for %s", a.Name)
		}
	}
	for _, w := range ChangeWatches {
		if !row(w.Name) {
			t.Errorf("docs/operations.md, Alarms: no row for %s", w.Name)
		}
	}
	logs := section(t, docs, "Access logs")
	for _, f := range AccessLogFields {
		if !strings.Contains(logs, "`"+f.Name+"`") || !strings.Contains(logs, "`"+f.Variable+"`") {
			t.Errorf("docs/operations.md, Access logs: field %s (%s) is not described", f.Name, f.Variable)
		}
	}
}
