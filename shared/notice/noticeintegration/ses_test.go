// Package noticeintegration runs notice delivery on real parts: the
// DynamoDB store and Amazon SES v2, both on moto_server.
package noticeintegration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/notice"
	"github.com/latchkey/latchkey/shared/notice/noticetest"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// sesMessage is one mail moto's SES recorded (its /moto-api/data.json,
// ses.Message): moto keeps the HTML body when there is one.
type sesMessage struct {
	ID           string              `json:"id"`
	Source       string              `json:"source"`
	Subject      string              `json:"subject"`
	Body         string              `json:"body"`
	Destinations map[string][]string `json:"destinations"`
}

// recorded returns the mails moto's SES accepted from the address from.
func recorded(t *testing.T, from string) []sesMessage {
	t.Helper()
	resp, err := http.Get(awstest.Shared().URL + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			Message []sesMessage `json:"Message"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatalf("read moto's recorded mail: %v", err)
	}
	var out []sesMessage
	for _, m := range data.SES.Message {
		if m.Source == from {
			out = append(out, m)
		}
	}
	return out
}

// TestSESOnMoto mails the notices of a token carrying every kind of secret
// through SES v2 on moto, from a table on moto: while the sender identity
// is unverified SES refuses and the notices stay queued; once it is
// verified each notice is mailed once, to its recipients, with its subject
// and no secret, and later drains send no second copy.
func TestSESOnMoto(t *testing.T) {
	ctx := context.Background()
	moto := awstest.Shared()
	cfg := moto.Config()
	table := awstest.UniqueName("mail")
	ddb := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	st := dynamostore.New(ddb, table)
	domain := strings.ToLower(awstest.UniqueName("latchkey")) + ".example.com"
	from := "tokens@" + domain

	now := time.Date(2026, 6, 27, 0, 15, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	c, tok := noticetest.SecretToken(t, "acme", "CI deploys", credential.EndOfDay(now.AddDate(0, 0, 3)))
	created, err := event.New(event.TokenCreated, "acme", c.ID, "admin", now, map[string]string{"name": c.Name})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCredential(ctx, c, created); err != nil {
		t.Fatal(err)
	}
	stored, err := st.GetCredential(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	warned := stored
	warned.WarnedAt = now
	expiring, err := event.New(event.TokenExpiring, "acme", c.ID, "system", now, map[string]string{
		"name": c.Name, "expires_at": c.ExpiresAt.Format(credential.DateLayout), "days_left": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateCredential(ctx, warned, expiring); err != nil {
		t.Fatal(err)
	}

	sesClient := sesv2.NewFromConfig(cfg)
	to := []string{"owner-" + domain + "@example.com", "admin@" + domain}
	m := &notice.Mailer{
		Mailbox:    st,
		Recipients: noticetest.Recipients{Tokens: st, To: to},
		Sender:     &notice.SES{API: sesClient, From: from},
		ConsoleURL: "https://api.example.com/prod/console",
		Clock:      clk,
	}

	// SES refuses mail from an unverified identity: nothing is recorded
	// and both notices stay queued.
	res, err := m.Drain(ctx, nil)
	var refused *types.MessageRejected
	if !errors.As(err, &refused) || res.Failed != 2 || res.Mailed != 0 {
		t.Fatalf("drain from an unverified identity: %+v %v", res, err)
	}
	if got := recorded(t, from); len(got) != 0 {
		t.Fatalf("moto recorded %d mails from an unverified identity", len(got))
	}

	if _, err := sesClient.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(domain)}); err != nil {
		t.Fatal(err)
	}
	// Within the failed sends' claims nothing is tried again.
	if res, err := m.Drain(ctx, nil); err != nil || res.Mailed != 0 {
		t.Fatalf("drain within the claims: %+v %v", res, err)
	}
	clk.Advance(notice.DefaultClaim)
	if res, err := m.Drain(ctx, nil); err != nil || res.Mailed != 2 || !res.Complete {
		t.Fatalf("drain once verified: %+v %v", res, err)
	}
	clk.Advance(notice.DefaultClaim * 2)
	if res, err := m.Drain(ctx, nil); err != nil || res.Mailed != 0 {
		t.Fatalf("drain after mailing: %+v %v", res, err)
	}

	got := recorded(t, from)
	subjects := []string{}
	forms := noticetest.SecretForms(stored, tok)
	for _, msg := range got {
		subjects = append(subjects, msg.Subject)
		if !slices.Equal(msg.Destinations["ToAddresses"], to) {
			t.Errorf("%s: to %v, want %v", msg.Subject, msg.Destinations, to)
		}
		if !strings.Contains(msg.Body, c.ID) || !strings.Contains(msg.Body, "https://api.example.com/prod/console#/tokens/"+c.ID) {
			t.Errorf("%s: body does not name and link the token:\n%s", msg.Subject, msg.Body)
		}
		noticetest.AssertNoSecret(t, fmt.Sprintf("mail %q", msg.Subject), msg.Subject+msg.Body, forms)
	}
	slices.Sort(subjects)
	if want := []string{"API token created: CI deploys", "API token expires in 3 days: CI deploys"}; !slices.Equal(subjects, want) {
		t.Fatalf("moto recorded %q, want each notice once: %q", subjects, want)
	}
}
