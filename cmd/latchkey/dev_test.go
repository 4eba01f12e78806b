package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

// api calls the dev server with token and returns the status and the
// decoded JSON body.
func api(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// TestDevCacheTTLZeroCachesNothing: with --authorizer-cache-ttl 0 a
// revocation shows on the very next request.
func TestDevCacheTTLZeroCachesNothing(t *testing.T) {
	url, root, _ := startDev(t, "--authorizer-cache-ttl", "0")
	status, made := api(t, "POST", url+"/v1/tokens", root, `{"name":"short-lived"}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, made)
	}
	token := made["token"].(string)
	if code := whoami(t, url, token); code != 200 {
		t.Fatalf("whoami before the revocation: %d", code)
	}
	if status, out := api(t, "DELETE", url+"/v1/tokens/"+made["id"].(string), root, ""); status != 204 {
		t.Fatalf("revoke: %d %v", status, out)
	}
	if code := whoami(t, url, token); code != 401 {
		t.Fatalf("whoami right after the revocation: %d, want 401 (no cache)", code)
	}
}

// TestDevOnDynamoDBIssuesTheRootTokenOnce: the first start on a table
// creates the root account and its admin token; a second start mints
// nothing, leaves --root-token-file alone and says how to get a token;
// --new-root-token issues one.
func TestDevOnDynamoDBIssuesTheRootTokenOnce(t *testing.T) {
	useMoto(t)
	ctx := context.Background()
	table := "dev-" + strings.ToLower(t.Name())
	url, first, _ := startDev(t, "--table", table, "--create-table")
	if code := whoami(t, url, first); code != 200 {
		t.Fatalf("whoami with the first start's token: %d", code)
	}
	st := dynamostore.New(dynamodb.NewFromConfig(awstest.Shared().Config()), table)
	count := func() int {
		t.Helper()
		page, err := st.ListCredentials(ctx, store.CredentialQuery{Account: "root"})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Items)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d tokens after the first start, want 1", n)
	}

	_, tokenPath, out := launchDev(t, "--table", table)
	if _, err := os.Stat(tokenPath); !os.IsNotExist(err) {
		t.Fatalf("--root-token-file written on a restart: %v", err)
	}
	banner := out.String()
	for _, want := range []string{"no new admin token", "--new-root-token", "latchkey bootstrap --table " + table} {
		if !strings.Contains(banner, want) {
			t.Fatalf("banner lacks %q:\n%s", want, banner)
		}
	}
	if strings.Contains(banner, first) {
		t.Fatal("the restart printed the first start's token")
	}
	if n := count(); n != 1 {
		t.Fatalf("%d tokens after a restart, want still 1", n)
	}

	url, third, _ := startDev(t, "--table", table, "--new-root-token")
	if _, err := apitoken.Parse(third); err != nil || third == first {
		t.Fatalf("--new-root-token: %q %v", third, err)
	}
	if code := whoami(t, url, third); code != 200 {
		t.Fatalf("whoami with the new token: %d", code)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d tokens after --new-root-token, want 2", n)
	}
}

func TestDevHelpNamesTheRootTokenRule(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out, io.Discard, "dev", "--help"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--new-root-token", "--request-timeout", "only when the root account is created", "latchkey bootstrap"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dev --help lacks %q", want)
		}
	}
}

// TestDevOnDynamoDBPagesASubAccountTokensHistory: `latchkey events
// --token-id` finds the history of a token two accounts below the caller's
// on DynamoDB, one event per page, each page's cursor leading to the next
// (a cursor keyed by the wrong account would start the query over).
func TestDevOnDynamoDBPagesASubAccountTokensHistory(t *testing.T) {
	useMoto(t)
	isolate(t)
	url, root, _ := startDev(t, "--table", "dev-"+strings.ToLower(t.Name()), "--create-table")
	base := []string{"--url", url + "/", "--token", root}
	ok(t, append(base, "accounts", "create", "acme", "--name", "Acme")...)
	ok(t, append(base, "accounts", "create", "acme-eu", "--parent", "acme", "--name", "Acme EU")...)
	tok := decode[struct{ ID string }](t, ok(t, append(base, "tokens", "create", "--name", "eu billing", "--account", "acme-eu", "--json")...).stdout)
	ok(t, append(base, "tokens", "update", tok.ID, "--name", "eu billing 2")...)
	ok(t, append(base, "tokens", "rotate", tok.ID)...)
	ok(t, append(base, "tokens", "update", tok.ID, "--active=false")...)

	want := []string{"token.updated", "token.rotated", "token.updated", "token.created"}
	var types []string
	args := append(base, "events", "--token-id", tok.ID, "--limit", "1", "--json")
	for page := 0; ; page++ {
		if page > len(want) {
			t.Fatalf("more pages than events: %v", types)
		}
		evs := decode[struct {
			Items []struct {
				Type    string `json:"type"`
				TokenID string `json:"token_id"`
				Account string `json:"account"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}](t, ok(t, args...).stdout)
		for _, e := range evs.Items {
			if e.TokenID != tok.ID || e.Account != "acme-eu" {
				t.Fatalf("an event of another token or account: %+v", e)
			}
			types = append(types, e.Type)
		}
		if evs.NextCursor == nil {
			break
		}
		args = append(base, "events", "--token-id", tok.ID, "--limit", "1", "--json", "--cursor", *evs.NextCursor)
	}
	if !slices.Equal(types, want) {
		t.Fatalf("history %v, want %v", types, want)
	}
}
