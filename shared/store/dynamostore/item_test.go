package dynamostore

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
)

func avS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func avN(n string) types.AttributeValue { return &types.AttributeValueMemberN{Value: n} }
func avB(b []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: b} }
func avL(s ...string) types.AttributeValue {
	l := &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	for _, v := range s {
		l.Value = append(l.Value, avS(v))
	}
	return l
}

// TestStoredItems holds one stored item of each kind to its exact attribute
// map, read back from DynamoDB with the SDK's client: names, types and
// values are what tables written by earlier versions hold, so those tables
// keep working.
func TestStoredItems(t *testing.T) {
	ctx := context.Background()
	api := sharedClient()
	table := newTable(t, api)
	s := New(api, table)
	raw := func(pk, sk string) item { t.Helper(); return storedItem(t, table, pk, sk) }
	var err error
	at := time.Date(2026, 5, 4, 10, 20, 30, 123456789, time.UTC)
	hash, prev := apitoken.HashSecret("current"), apitoken.HashSecret("previous")

	c := credential.Credential{
		ID: "AbCdEfGhIjKlMnOp", Account: "cust", AccountPath: []string{"vendor", "cust"},
		Name: "ci", Description: "deploys", Type: credential.TypeGeneral, Kind: credential.KindSecret,
		SecretHash: hash, Previous: &credential.Previous{SecretHash: prev, Until: at.Add(time.Hour)},
		Permissions: permission.MustParse("apikeys:view", "devices:manage"), Groups: []string{"g1", "g2"},
		AllowedIPs: []string{"192.0.2.0/24"}, Status: credential.StatusActive,
		ExpiresAt: credential.EndOfDay(at.AddDate(0, 0, 90)), CreatedAt: at, CreatedBy: "tok:admin",
		UpdatedAt: at.Add(time.Minute), RetainUntil: at.AddDate(1, 0, 0),
		ContactEmail: "ops@example.com",
	}
	if c.Meta, err = credential.ParseMeta("meta", []byte(`{"ticket":"OPS-1","n":0.10}`)); err != nil {
		t.Fatal(err)
	}
	ev := event.Event{ID: "01KR0Q3X2B0000ABCDEF", Account: "cust", Type: event.TokenCreated, CredentialID: c.ID,
		Actor: "tok:admin", At: at, Detail: map[string]string{"name": "ci"}, ExpiresAt: at.AddDate(1, 0, 0)}
	if err := s.CreateCredential(ctx, c, ev); err != nil {
		t.Fatal(err)
	}
	used := at.Add(2 * time.Hour)
	if ok, err := s.TouchCredential(ctx, c.ID, used, "198.51.100.7", used); err != nil || !ok {
		t.Fatalf("touch: %v %v", ok, err)
	}
	root, err := account.NewRoot("vendor", "Vendor", credential.Policy{DefaultNeverExpires: true, MaxExpiryDays: 200, AllowNeverExpires: true}, "op", at)
	if err != nil {
		t.Fatal(err)
	}
	root.AdminEmails = []string{"sec@vendor.example", "ops@vendor.example"}
	child, err := account.NewChild(root, "cust", "Customer", credential.Policy{}, "op", at)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []account.Account{root, child} {
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	role := account.Role{Account: "cust", Name: "readers", Description: "read only",
		Permissions: permission.MustParse("apikeys:view"), CreatedAt: at, CreatedBy: "tok:admin"}
	if err := s.CreateRole(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := s.UseNonce(ctx, "assertion#"+c.ID+"#jti-1", at, at.Add(90*time.Second+time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IncrementCounter(ctx, "rate#"+c.ID, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}

	stamp := "2026-05-04T10:20:30.123456789Z"
	tests := []struct {
		kind, pk, sk string
		want         item
	}{
		{"credential", "CRED#" + c.ID, "CRED", item{
			"pk": avS("CRED#" + c.ID), "sk": avS("CRED"),
			"id": avS(c.ID), "account": avS("cust"), "account_path": avL("vendor", "cust"),
			"name": avS("ci"), "description": avS("deploys"), "type": avS("general"), "kind": avS("secret"),
			"secret_hash": avB(hash[:]), "prev_secret_hash": avB(prev[:]), "prev_until": avS("2026-05-04T11:20:30.123456789Z"),
			"permissions": avL("apikeys:view", "devices:manage"), "groups": avL("g1", "g2"),
			"allowed_ips": avL("192.0.2.0/24"), "status": avS("active"),
			"meta": avS(`{"n":0.10,"ticket":"OPS-1"}`), "contact_email": avS("ops@example.com"),
			"expires_at": avS("2026-08-02T23:59:59.000000000Z"), "created_at": avS(stamp), "created_by": avS("tok:admin"),
			"updated_at": avS("2026-05-04T10:21:30.123456789Z"), "version": avN("1"),
			"last_used_at": avS("2026-05-04T12:20:30.123456789Z"), "last_used_ip": avS("198.51.100.7"),
			"retain_until": avS("2027-05-04T10:20:30.123456789Z"), "ttl": avN("1809426030"),
			"gsi1pk": avS("ACCT#cust#CRED"), "gsi1sk": avS(stamp + "#" + c.ID),
			"expiry_day": avS("2026-08-02"), "expiry_sk": avS("U#" + c.ID),
		}},
		{"event", "ACCT#cust", "EVT#" + ev.ID, item{
			"pk": avS("ACCT#cust"), "sk": avS("EVT#" + ev.ID),
			"id": avS(ev.ID), "account": avS("cust"), "type": avS("token.created"), "credential_id": avS(c.ID),
			"actor": avS("tok:admin"), "at": avS(stamp),
			"detail":     &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"name": avS("ci")}},
			"expires_at": avS("2027-05-04T10:20:30.123456789Z"), "ttl": avN("1809426030"),
			"gsi1pk": avS("CRED#" + c.ID + "#EVT"), "gsi1sk": avS(ev.ID),
			"outbox_pk": avS("UNPUBLISHED"), "outbox_sk": avS(ev.ID + "#cust"),
		}},
		{"root account", "ACCT#vendor", "ACCT", item{
			"pk": avS("ACCT#vendor"), "sk": avS("ACCT"),
			"id": avS("vendor"), "name": avS("Vendor"), "path": avL("vendor"),
			"policy": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"allow_never_expires": &types.AttributeValueMemberBOOL{Value: true}, "default_never_expires": &types.AttributeValueMemberBOOL{Value: true},
				"max_expiry_days": avN("200"),
			}},
			"admin_emails": avL("sec@vendor.example", "ops@vendor.example"),
			"created_at":   avS(stamp), "created_by": avS("op"), "version": avN("1"),
		}},
		{"child account", "ACCT#cust", "ACCT", item{
			"pk": avS("ACCT#cust"), "sk": avS("ACCT"),
			"id": avS("cust"), "name": avS("Customer"), "parent": avS("vendor"), "path": avL("vendor", "cust"),
			"policy": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"allow_never_expires": &types.AttributeValueMemberBOOL{Value: false},
				"default_expiry_days": avN("90"), "max_expiry_days": avN("365"),
			}},
			"created_at": avS(stamp), "created_by": avS("op"), "version": avN("1"),
			"gsi1pk": avS("ACCT#vendor#CHILD"), "gsi1sk": avS(stamp + "#cust"),
		}},
		{"role", "ACCT#cust", "ROLE#readers", item{
			"pk": avS("ACCT#cust"), "sk": avS("ROLE#readers"),
			"account": avS("cust"), "name": avS("readers"), "description": avS("read only"),
			"permissions": avL("apikeys:view"), "created_at": avS(stamp), "created_by": avS("tok:admin"),
		}},
		{"nonce", "NONCE#assertion#" + c.ID + "#jti-1", "NONCE", item{
			"pk": avS("NONCE#assertion#" + c.ID + "#jti-1"), "sk": avS("NONCE"),
			// until rounded up to the second
			"ttl": avN("1777890121"),
		}},
		{"counter", "COUNT#rate#" + c.ID, "COUNT", item{
			"pk": avS("COUNT#rate#" + c.ID), "sk": avS("COUNT"),
			"n": avN("1"), "ttl": avN("1777890091"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			got := raw(tc.pk, tc.sk)
			for name, want := range tc.want {
				if !reflect.DeepEqual(got[name], want) {
					t.Errorf("%s = %#v, want %#v", name, got[name], want)
				}
			}
			for name, v := range got {
				if _, ok := tc.want[name]; !ok {
					t.Errorf("unexpected attribute %s = %#v", name, v)
				}
			}
		})
	}

	// Each kind reads back as it was written.
	gotC, err := s.GetCredential(ctx, c.ID)
	c.Version, c.LastUsedAt, c.LastUsedIP = 1, used, "198.51.100.7"
	if err != nil || !reflect.DeepEqual(gotC, c) {
		t.Errorf("credential read back:\n got %#v, %v\nwant %#v", gotC, err, c)
	}
	if got, err := s.GetAccount(ctx, "cust"); err != nil || !reflect.DeepEqual(got, child) {
		t.Errorf("account read back: %#v, %v", got, err)
	}
	if got, err := s.GetRole(ctx, "cust", "readers"); err != nil || !reflect.DeepEqual(got, role) {
		t.Errorf("role read back: %#v, %v", got, err)
	}
	p, err := s.ListEvents(ctx, store.EventQuery{Account: "cust"})
	if err != nil || len(p.Items) != 1 || !reflect.DeepEqual(p.Items[0], ev) {
		t.Errorf("event read back: %#v, %v", p.Items, err)
	}
}
