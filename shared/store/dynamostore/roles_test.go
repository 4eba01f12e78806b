package dynamostore

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
)

// TestRoleBelowItems pins the items a role in a sub-account leaves in the
// accounts above it: keys only, one per ancestor, as the package doc's
// table says.
func TestRoleBelowItems(t *testing.T) {
	ctx := context.Background()
	api := sharedClient()
	table := newTable(t, api)
	s := New(api, table)
	root, _ := account.NewRoot("vendor", "Vendor", credential.Policy{}, "op", base)
	child, _ := account.NewChild(root, "cust", "Customer", credential.Policy{}, "op", base)
	shop, _ := account.NewChild(child, "shop", "Shop", credential.Policy{}, "op", base)
	for _, a := range []account.Account{root, child, shop} {
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	r, err := account.NewRole("shop", "scanner", "", []string{"apikeys:view"}, credential.Creator{Permissions: permission.All()}, base)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRole(ctx, r); err != nil {
		t.Fatal(err)
	}
	for acct, want := range map[string]bool{"vendor": true, "cust": true, "shop": false} {
		key := map[string]types.AttributeValue{AttrPK: sv("ACCT#" + acct), AttrSK: sv("BELOW#ROLE#scanner")}
		out, err := sharedClient().GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Item != nil; got != want || want && !reflect.DeepEqual(out.Item, key) {
			t.Errorf("%s: role-below item %v, want one: %v", acct, out.Item, want)
		}
	}
}
