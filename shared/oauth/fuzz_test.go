package oauth

import (
	"encoding/base64"
	"errors"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/apigw"
)

// FuzzForm feeds arbitrary Content-Types and bodies (plain or base64, as
// API Gateway may deliver them) to the form parser of every OAuth
// endpoint. It must never panic; a refusal must be a 4xx protocol error
// with a code and a description (413 past the body limit); an accepted
// body must have been declared application/x-www-form-urlencoded, hold
// each parameter once with a value — exactly the parameters the body gave
// once and with a value — and read back the same once re-encoded.
func FuzzForm(f *testing.F) {
	const ct = "application/x-www-form-urlencoded"
	for _, s := range []struct {
		ct, body string
		b64      bool
	}{
		{ct, "grant_type=client_credentials&client_id=AbCdEfGhIjKlMnOp&client_secret=s3cr%2Bt", false},
		{ct + "; charset=UTF-8", "grant_type=client_credentials&scope=apikeys%3Aview+devices%3Aview", false},
		{ct, base64.StdEncoding.EncodeToString([]byte("token=abc&token_type_hint=access_token")), true},
		{ct, "a=1&a=2", false},
		{ct, "a=&b=2&c", false},
		{ct, "%zz=1", false},
		{ct, "a=1;b=2", false},
		{ct, "not base64!", true},
		{"application/json", `{"grant_type":"client_credentials"}`, false},
		{"", "a=1", false},
		{"application/x-www-form-urlencoded; =broken", "a=1", false},
		{ct, strings.Repeat("a", apigw.MaxBodyBytes+1), false},
		// Within the limit, but three times past it once re-encoded.
		{ct, "k=" + strings.Repeat("/", apigw.MaxBodyBytes-2), false},
		{ct, "\xff\xfe=\x00", false},
	} {
		f.Add(s.ct, s.body, s.b64)
	}
	f.Fuzz(func(t *testing.T, contentType, body string, b64 bool) {
		req := events.APIGatewayProxyRequest{Headers: map[string]string{"Content-Type": contentType}, Body: body, IsBase64Encoded: b64}
		vals, err := form(req)
		if err != nil {
			e := toError(err)
			if e.Status < 400 || e.Status > 499 || e.Code == "" || e.Description == "" {
				t.Fatalf("refusal is not a 4xx protocol error: %+v", e)
			}
			return
		}
		if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != ct {
			t.Fatalf("accepted Content-Type %q", contentType)
		}
		raw := body
		if b64 {
			b, err := base64.StdEncoding.DecodeString(body)
			if err != nil {
				t.Fatalf("accepted a body that is not base64: %q", body)
			}
			raw = string(b)
		}
		if len(raw) > apigw.MaxBodyBytes {
			t.Fatalf("accepted a body of %d bytes", len(raw))
		}
		given, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("accepted a body url.ParseQuery refuses: %v", err)
		}
		for k, v := range given {
			if len(v) > 1 {
				t.Fatalf("accepted %q given %d times", k, len(v))
			}
			if got, ok := vals[k]; (v[0] != "") != ok || (ok && !slices.Equal(got, v)) {
				t.Fatalf("parameter %q: body gave %q, form read %q", k, v, got)
			}
		}
		if len(vals) > len(given) {
			t.Fatalf("form invented parameters: %v from %q", slices.Collect(maps.Keys(vals)), raw)
		}
		// Encode escapes what a client may send raw, so the re-encoding of
		// a body near the limit can be past it: then form must refuse it as
		// too large, and url.ParseQuery stands in for the read back.
		enc := vals.Encode()
		again, err := form(events.APIGatewayProxyRequest{Headers: map[string]string{"Content-Type": ct}, Body: enc})
		if len(enc) > apigw.MaxBodyBytes {
			if toError(err).Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("re-encoded body of %d bytes: %v, want 413", len(enc), err)
			}
			again, err = url.ParseQuery(enc)
		}
		if err != nil || !maps.EqualFunc(again, vals, slices.Equal) {
			t.Fatalf("round trip: %v then %v (%v)", vals, again, err)
		}
	})
}

// The body limit counts the body as sent: a body of exactly MaxBodyBytes
// is read even when its re-encoding would be three times longer (the case
// behind FuzzForm's seed of slashes), and one byte more is a 413.
func TestFormLimitCountsTheBodyAsSent(t *testing.T) {
	const ct = "application/x-www-form-urlencoded"
	body := "k=" + strings.Repeat("/", apigw.MaxBodyBytes-2)
	vals, err := form(events.APIGatewayProxyRequest{Headers: map[string]string{"Content-Type": ct}, Body: body})
	if err != nil || vals.Get("k") != body[2:] {
		t.Fatalf("body of %d bytes: %d bytes of k, %v", len(body), len(vals.Get("k")), err)
	}
	if len(vals.Encode()) <= apigw.MaxBodyBytes {
		t.Fatal("the re-encoding should be past the limit")
	}
	_, err = form(events.APIGatewayProxyRequest{Headers: map[string]string{"Content-Type": ct}, Body: body + "/"})
	if e := toError(err); e.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("body of %d bytes: %v, want 413", len(body)+1, err)
	}
}

// toError is the error a refusal carries, or a blank one (status 0) for an
// error of another kind, which the tests then report.
func toError(err error) *apigw.Error {
	var e *apigw.Error
	if errors.As(err, &e) {
		return e
	}
	return &apigw.Error{}
}
