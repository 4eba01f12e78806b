package caller

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
)

func TestContextRoundTripThroughJSON(t *testing.T) {
	t.Parallel()
	in := Caller{
		Principal:    "AbCdEfGh12345678",
		Account:      "acme",
		CredentialID: "AbCdEfGh12345678",
		Permissions:  permission.MustParse("apikeys:manage", "roles:view"),
		Groups:       []string{"ops", "eu west"},
		Kind:         "secret",
		Auth:         AuthToken,
		Meta:         credential.Meta{"owner": credential.MetaString("ops"), "n": mustNumber(t, "0.10")},
	}
	ctx := in.Context()
	ctx[KeyPrincipal] = in.Principal
	// API Gateway delivers the context as JSON.
	raw, _ := json.Marshal(ctx)
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	got, err := FromContext(back)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("got %+v want %+v", got, in)
	}
}

func TestFromContextRefusesIncomplete(t *testing.T) {
	t.Parallel()
	for _, ctx := range []map[string]any{
		nil,
		{KeyPrincipal: "p"},
		{KeyAccount: "acme"},
		{KeyPrincipal: "p", KeyAccount: "acme", KeyPermissions: "not a permission"},
		{KeyPrincipal: "p", KeyAccount: "acme", KeyGroups: "{"},
		{KeyPrincipal: "p", KeyAccount: "acme", KeyMeta: `{"a":{"b":1}}`},
		{KeyPrincipal: "p", KeyAccount: "acme", KeyMeta: "not json"},
	} {
		if _, err := FromContext(ctx); !errors.Is(err, ErrMissing) {
			t.Errorf("FromContext(%v) = %v", ctx, err)
		}
	}
}

func mustNumber(t *testing.T, s string) credential.MetaValue {
	t.Helper()
	v, err := credential.MetaNumber(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
