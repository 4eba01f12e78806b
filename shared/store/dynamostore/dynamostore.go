// Package dynamostore is the DynamoDB adapter of the store port: one table,
// every access a key lookup, a conditional write or a Query (never a Scan).
// It has memstore's semantics, and both pass the storetest conformance suite
// (this one against moto_server).
//
// # Table
//
// Partition key pk (S), sort key sk (S); global secondary index gsi1 on
// (gsi1pk, gsi1sk); sparse global secondary indexes expiry on (expiry_day,
// expiry_sk) and outbox on (outbox_pk, outbox_sk); all indexes project ALL.
// TTL attribute ttl (N, epoch seconds). The names are the exported
// constants in schema.go.
//
// # Items
//
//	record      pk                 sk             gsi1pk                 gsi1sk                       other keys
//	credential  CRED#<id>          CRED           ACCT#<account>#CRED    CreatedKey(created_at, id)   expiry_day = DayKey(expires_at),
//	                                                                                                  expiry_sk = ExpiryKey: U#<id> until
//	                                                                                                  warned, then W#<id> (only while
//	                                                                                                  active and expiring);
//	                                                                                                  ttl = retain_until
//	event       ACCT#<account>     EVT#<id>       CRED#<cred>#EVT        <id>                         ttl = expires_at;
//	                                              (only with a credential)                            outbox_pk = UNPUBLISHED,
//	                                                                                                  outbox_sk = <id>#<account>
//	                                                                                                  (until published)
//	notice      ACCT#<account>     MAIL#<id>                                                          the event's attributes again (only
//	                                                                                                  for a token's event of a type in
//	                                                                                                  event.Notices); ttl = expires_at;
//	                                                                                                  outbox_pk = UNMAILED,
//	                                                                                                  outbox_sk = <id>#<account>
//	                                                                                                  (until mailed); mail_claim
//	account     ACCT#<id>          ACCT           ACCT#<parent>#CHILD    CreatedKey(created_at, id)
//	                                              (only with a parent)
//	role        ACCT#<account>     ROLE#<name>
//	role below  ACCT#<account>     BELOW#ROLE#<name>                                                  (keys only: an account below
//	                                                                                                  defines a role <name>)
//
// Every field is its own attribute, named in snake_case (id, account,
// account_path, name, description, type, kind, secret_hash, public_key_pem,
// permissions, groups, allowed_ips, status, expires_at, created_at,
// created_by, updated_at, version, last_used_at, last_used_ip, warned_at,
// retain_until; events: credential_id, actor, at, detail, expires_at;
// accounts: parent, path, policy, admin_emails, version). Hashes are binary
// (B); lists are L of S, keeping their order; version is N; an event's
// detail and an account's policy are maps (M). A credential's rotation grace is prev_secret_hash,
// prev_public_key_pem and prev_until, present only while there is one.
// Times are fixed-width UTC strings, 2006-01-02T15:04:05.000000000Z, which
// sort and compare as the times do and round-trip to the nanosecond (a
// non-UTC time comes back as the same instant in UTC). Empty and zero values
// are left out and read back as empty and zero.
//
// # Writes
//
// Creates are conditional on attribute_not_exists(pk) and, with events, one
// TransactWriteItems (record and event puts, each event also conditional on
// not existing). UpdateCredential is conditional on the version it read,
// SETs every attribute but last_used_at/last_used_ip (so a concurrent
// TouchCredential is never rolled back), REMOVEs those now absent (the
// sparse expiry keys included) and increments version; with events it is
// one transaction. UpdateAccount is one transaction of the same kind: its
// name, policy and admin_emails, conditional on its version. CreateRole's transaction also checks that no account on
// the role's path defines the name (the ancestors' role keys and its own
// account's role-below key are absent) and puts a role-below item in each
// ancestor. TouchCredential is a conditional UpdateItem of the
// last-use pair alone. Every event is put with the outbox keys;
// MarkPublished REMOVEs them with an UpdateItem conditional on the row
// still existing (so it never resurrects a row TTL removed). An event that
// mails a notice is put together with its notice item, in the same
// transaction; ClaimMail SETs the item's mail_claim conditionally, and
// MarkMailed REMOVEs its queue keys as MarkPublished does an event's. Point reads are strongly consistent, so a revoked
// token stops working at once; so are Queries on the table itself (events of
// an account, roles). Index Queries are eventually consistent, as DynamoDB
// allows nothing else.
//
// # Client
//
// The adapter calls DynamoDB through API, the methods of the SDK's
// *dynamodb.Client it uses, built once per process by the caller (so the
// SDK's endpoint resolution, retryer and tracing middleware apply). Items
// are marshalled from record structs with dynamodbav tags (item.go) by the
// SDK's attributevalue package; conditions, updates and key conditions are
// built with its expression package. Tests wrap API to count calls or
// inject faults.
//
// # Paging
//
// A page holds at most store.ClampLimit(limit) items; its cursor is
// store.EncodeCursor of the last item's sort key (the same key memstore
// uses) and is set only when more matching items exist. A cursor only
// supplies the sort key to resume after; the partition always comes from the
// query itself, so a forged cursor cannot reach another account's rows.
package dynamostore

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// API is the part of *dynamodb.Client the adapter and CreateTable use, so
// callers can wrap it (to count calls or inject faults) or substitute it.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)

	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// maxTransactItems is DynamoDB's limit on one TransactWriteItems.
const maxTransactItems = 100

// Store is the DynamoDB adapter. It is safe for concurrent use.
type Store struct {
	api   API
	table *string

	// EventRetention, when positive, is how long history rows are kept:
	// each event is stored with expires_at and ttl at its time plus this,
	// whatever its ExpiresAt said. Zero keeps each event's own ExpiresAt.
	// Set it before the store is used.
	EventRetention time.Duration
}

var _ store.Store = (*Store)(nil)

// New returns a store on table, using api (normally a *dynamodb.Client
// built once at cold start).
func New(api API, table string) *Store {
	return &Store{api: api, table: aws.String(table)}
}

// notExists is the condition of every create.
var notExists = expression.AttributeNotExists(expression.Name(AttrPK))

func mustBuild(b expression.Builder) expression.Expression {
	e, err := b.Build()
	if err != nil {
		// Only a programming error here can make a fixed expression invalid.
		panic(fmt.Sprintf("dynamostore: build expression: %v", err))
	}
	return e
}

// putNew is a Put of a new item, failing if its key is taken.
func (s *Store) putNew(it item) types.TransactWriteItem {
	e := mustBuild(expression.NewBuilder().WithCondition(notExists))
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                 s.table,
		Item:                      it,
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}}
}

// create writes a new record, alone with PutItem or with its events in one
// transaction. what names the record in errors.
func (s *Store) create(ctx context.Context, what string, it item, evs []event.Event) error {
	// Always a transaction, even without events: its client request token
	// makes a client retry after a lost answer idempotent, where a bare
	// conditional PutItem would report its own first write as a conflict.
	items := []types.TransactWriteItem{s.putNew(it)}
	evItems, err := s.eventPuts(evs, 1)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.transact(ctx, what, append(items, evItems...))
}

// eventPuts are the puts of new events, and of the notices among them to
// mail, for a transaction that also holds others other items.
func (s *Store) eventPuts(evs []event.Event, others int) ([]types.TransactWriteItem, error) {
	out := make([]types.TransactWriteItem, 0, len(evs))
	for _, e := range evs {
		out = append(out, s.putNew(s.eventItem(e)))
		if store.MailsNotice(e) {
			out = append(out, s.putNew(s.noticeItem(e)))
		}
	}
	if room := maxTransactItems - others; len(out) > room {
		return nil, fmt.Errorf("%d events with %d notices: one write takes at most %d items", len(evs), len(out)-len(evs), room)
	}
	return out, nil
}

// transact runs a write transaction whose failed conditions mean a conflict.
func (s *Store) transact(ctx context.Context, what string, items []types.TransactWriteItem) error {
	err := s.transactWrite(ctx, items)
	if err == nil {
		return nil
	}
	if terr, ok := txError(err); ok {
		return fmt.Errorf("%s: %w", what, terr)
	}
	return fmt.Errorf("%s: %w", what, classify(err))
}

// transactWrite runs TransactWriteItems with a fresh idempotency token, so
// the client's retry of a write whose answer was lost does not fail its own
// conditions.
func (s *Store) transactWrite(ctx context.Context, items []types.TransactWriteItem) error {
	_, err := s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems:      items,
		ClientRequestToken: aws.String(rand.Text()),
	})
	return err
}

func (s *Store) get(ctx context.Context, key item) (item, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            key,
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, classify(err)
	}
	if len(out.Item) == 0 {
		return nil, store.ErrNotFound
	}
	return out.Item, nil
}

// CreateCredential implements store.Credentials. The record is stored with
// version 1.
func (s *Store) CreateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) error {
	c.Version = 1
	return s.create(ctx, "create credential "+c.ID, credentialItem(c), evs)
}

// GetCredential implements store.Credentials.
func (s *Store) GetCredential(ctx context.Context, id string) (credential.Credential, error) {
	it, err := s.get(ctx, credKey(id))
	if err != nil {
		return credential.Credential{}, fmt.Errorf("get credential %s: %w", id, err)
	}
	c, err := decodeCredential(it)
	if err != nil {
		return credential.Credential{}, fmt.Errorf("get credential %s: %w", id, err)
	}
	return c, nil
}

// UpdateCredential implements store.Credentials. Without events the record
// returned is the one stored, read back in the same call. With events the
// write is a transaction, which returns nothing: the record returned is c
// at its new version, and its last-use fields are c's, which may be older
// than the stored ones (the write never changes those).
func (s *Store) UpdateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) (credential.Credential, error) {
	what := "update credential " + c.ID
	next := c.Clone()
	next.Version = c.Version + 1
	newItem := credentialItem(next)

	var upd expression.UpdateBuilder
	for _, name := range credentialEdited {
		if v, ok := newItem[name]; ok {
			upd = upd.Set(expression.Name(name), expression.Value(v))
		} else {
			upd = upd.Remove(expression.Name(name))
		}
	}
	cond := expression.AttributeExists(expression.Name(AttrPK)).
		And(expression.Name(attrVersion).Equal(expression.Value(c.Version)))
	e := mustBuild(expression.NewBuilder().WithUpdate(upd).WithCondition(cond))

	if len(evs) == 0 {
		out, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                           s.table,
			Key:                                 credKey(c.ID),
			UpdateExpression:                    e.Update(),
			ConditionExpression:                 e.Condition(),
			ExpressionAttributeNames:            e.Names(),
			ExpressionAttributeValues:           e.Values(),
			ReturnValues:                        types.ReturnValueAllNew,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if failed, old := conditionFailed(err); failed {
			return credential.Credential{}, versionError(what, c.Version, old)
		}
		if err != nil {
			return credential.Credential{}, fmt.Errorf("%s: %w", what, classify(err))
		}
		stored, err := decodeCredential(out.Attributes)
		if err != nil {
			return credential.Credential{}, fmt.Errorf("%s: %w", what, err)
		}
		return stored, nil
	}

	if err := s.updateWithEvents(ctx, what, credKey(c.ID), e, c.Version, evs); err != nil {
		return credential.Credential{}, err
	}
	return next, nil
}

// updateWithEvents writes the conditional update e of the item at key
// and the history rows of evs in one transaction. A failed condition is
// versionError's answer for the version the caller read.
func (s *Store) updateWithEvents(ctx context.Context, what string, key item, e expression.Expression, version int64, evs []event.Event) error {
	evItems, err := s.eventPuts(evs, 1)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	items := append([]types.TransactWriteItem{{Update: &types.Update{
		TableName:                           s.table,
		Key:                                 key,
		UpdateExpression:                    e.Update(),
		ConditionExpression:                 e.Condition(),
		ExpressionAttributeNames:            e.Names(),
		ExpressionAttributeValues:           e.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}}, evItems...)
	err = s.transactWrite(ctx, items)
	if reasons, ok := cancelled(err); ok && len(reasons) > 0 && str(reasons[0].Code) == reasonConditionFailed {
		return versionError(what, version, reasons[0].Item)
	}
	if terr, ok := txError(err); ok {
		return fmt.Errorf("%s: %w", what, terr)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, classify(err))
	}
	return nil
}

// versionError tells a missing record from a newer version, from the item
// DynamoDB returned with the failed condition (none means no item).
func versionError(what string, read int64, old item) error {
	if len(old) == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	var stored struct {
		Version int64 `dynamodbav:"version"`
	}
	if err := unmarshal(old, &stored); err != nil {
		return fmt.Errorf("%s: version %d, stored unreadable: %w", what, read, store.ErrConflict)
	}
	return fmt.Errorf("%s: version %d, stored %d: %w", what, read, stored.Version, store.ErrConflict)
}

// TouchCredential implements store.Credentials.
func (s *Store) TouchCredential(ctx context.Context, id string, at time.Time, ip string, notAfter time.Time) (bool, error) {
	upd := expression.Set(expression.Name(attrLastUsedAt), expression.Value(formatTime(at)))
	if ip != "" {
		upd = upd.Set(expression.Name(attrLastUsedIP), expression.Value(ip))
	} else {
		upd = upd.Remove(expression.Name(attrLastUsedIP))
	}
	cond := expression.AttributeExists(expression.Name(AttrPK)).And(
		expression.AttributeNotExists(expression.Name(attrLastUsedAt)).
			Or(expression.Name(attrLastUsedAt).LessThan(expression.Value(formatTime(notAfter)))))
	e := mustBuild(expression.NewBuilder().WithUpdate(upd).WithCondition(cond))
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           s.table,
		Key:                                 credKey(id),
		UpdateExpression:                    e.Update(),
		ConditionExpression:                 e.Condition(),
		ExpressionAttributeNames:            e.Names(),
		ExpressionAttributeValues:           e.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if failed, old := conditionFailed(err); failed {
		if len(old) == 0 {
			return false, fmt.Errorf("touch credential %s: %w", id, store.ErrNotFound)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("touch credential %s: %w", id, classify(err))
	}
	return true, nil
}

// ListCredentials implements store.Credentials: gsi1, newest first.
func (s *Store) ListCredentials(ctx context.Context, q store.CredentialQuery) (store.Page[credential.Credential], error) {
	lq := listQuery{
		what:    "list credentials of " + q.Account,
		index:   IndexGSI1,
		pkName:  AttrGSI1PK,
		pkValue: acctCredsPK(q.Account),
		skName:  AttrGSI1SK,
		tableKey: func(after string) (string, string) {
			return prefixCred + idOfCreatedKey(after), skCred
		},
	}
	if q.Status != "" {
		f := expression.Name(attrStatus).Equal(expression.Value(string(q.Status)))
		lq.filter = &f
	}
	return list(ctx, s, lq, q.Limit, q.Cursor, decodeCredential)
}

// ListExpiringOn implements store.Credentials: the sparse expiry
// index, by store.ExpiryKey (warning state, then ID).
func (s *Store) ListExpiringOn(ctx context.Context, day time.Time, limit int, cursor string) (store.Page[credential.Credential], error) {
	d := store.DayKey(day)
	return list(ctx, s, listQuery{
		what:    "list credentials expiring on " + d,
		index:   IndexExpiry,
		pkName:  AttrExpiryDay,
		pkValue: d,
		skName:  AttrExpirySK,
		forward: true,
		tableKey: func(after string) (string, string) {
			// The ID follows the warning-state prefix.
			return prefixCred + idOfCreatedKey(after), skCred
		},
	}, limit, cursor, decodeCredential)
}

// AppendEvents implements store.Events: all or none are written.
func (s *Store) AppendEvents(ctx context.Context, evs ...event.Event) error {
	switch len(evs) {
	case 0:
		return nil
	case 1:
		if !store.MailsNotice(evs[0]) {
			return s.create(ctx, "append event "+evs[0].ID, s.eventItem(evs[0]), nil)
		}
	}
	items, err := s.eventPuts(evs, 0)
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	return s.transact(ctx, "append events", items)
}

// ListEvents implements store.Events: a credential's events from gsi1, an
// account's from its partition, newest first either way.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) (store.Page[event.Event], error) {
	var lq listQuery
	if q.CredentialID != "" {
		lq = listQuery{
			what:    "list events of credential " + q.CredentialID,
			index:   IndexGSI1,
			pkName:  AttrGSI1PK,
			pkValue: credEventsPK(q.CredentialID),
			skName:  AttrGSI1SK,
			tableKey: func(after string) (string, string) {
				// Only a tie-break after gsi1sk, which is the unique event ID.
				return prefixAcct + q.Account, prefixEvent + after
			},
		}
	} else {
		lq = listQuery{
			what:       "list events of account " + q.Account,
			pkName:     AttrPK,
			pkValue:    prefixAcct + q.Account,
			skName:     AttrSK,
			skPrefix:   prefixEvent,
			consistent: true,
		}
	}
	if q.Type != "" {
		f := expression.Name(attrType).Equal(expression.Value(string(q.Type)))
		lq.filter = &f
	}
	return list(ctx, s, lq, q.Limit, q.Cursor, decodeEvent)
}

// CreateAccount implements store.Accounts.
func (s *Store) CreateAccount(ctx context.Context, a account.Account, evs ...event.Event) error {
	what := "create account " + a.ID
	it, err := accountItem(a)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.create(ctx, what, it, evs)
}

// GetAccount implements store.Accounts.
func (s *Store) GetAccount(ctx context.Context, id string) (account.Account, error) {
	it, err := s.get(ctx, accountKey(id))
	if err != nil {
		return account.Account{}, fmt.Errorf("get account %s: %w", id, err)
	}
	a, err := decodeAccount(it)
	if err != nil {
		return account.Account{}, fmt.Errorf("get account %s: %w", id, err)
	}
	return a, nil
}

// UpdateAccount implements store.Accounts: one transaction of an Update of
// the account's name, policy and admin e-mails, conditional on the version
// it read (an account stored before accounts had versions has none, which
// is version 0), and the events' puts.
func (s *Store) UpdateAccount(ctx context.Context, a account.Account, evs ...event.Event) (account.Account, error) {
	what := "update account " + a.ID
	next := a.Clone()
	next.Version = a.Version + 1
	newItem, err := accountItem(next)
	if err != nil {
		return account.Account{}, fmt.Errorf("%s: %w", what, err)
	}
	var upd expression.UpdateBuilder
	for _, name := range accountEdited {
		if v, ok := newItem[name]; ok {
			upd = upd.Set(expression.Name(name), expression.Value(v))
		} else {
			upd = upd.Remove(expression.Name(name))
		}
	}
	version := expression.Name(attrVersion).Equal(expression.Value(a.Version))
	if a.Version == 0 {
		version = expression.AttributeNotExists(expression.Name(attrVersion))
	}
	e := mustBuild(expression.NewBuilder().WithUpdate(upd).
		WithCondition(expression.AttributeExists(expression.Name(AttrPK)).And(version)))
	if err := s.updateWithEvents(ctx, what, accountKey(a.ID), e, a.Version, evs); err != nil {
		return account.Account{}, err
	}
	// The fields not written are the ones that never change.
	return next, nil
}

// ListChildAccounts implements store.Accounts: gsi1, oldest first.
func (s *Store) ListChildAccounts(ctx context.Context, parent string, limit int, cursor string) (store.Page[account.Account], error) {
	what := "list children of account " + parent
	if parent == "" {
		// Roots have no parent to list under; nothing is anyone's child
		// of "". The cursor is still checked, as memstore does.
		if _, err := store.DecodeCursor(cursor); err != nil {
			return store.Page[account.Account]{}, fmt.Errorf("%s: %w", what, err)
		}
		return store.Page[account.Account]{}, nil
	}
	return list(ctx, s, listQuery{
		what:    what,
		index:   IndexGSI1,
		pkName:  AttrGSI1PK,
		pkValue: acctChildrenPK(parent),
		skName:  AttrGSI1SK,
		forward: true,
		tableKey: func(after string) (string, string) {
			return prefixAcct + idOfCreatedKey(after), skAcct
		},
	}, limit, cursor, decodeAccount)
}

// CreateRole implements store.Accounts. It reads the account's path (which
// never changes), then writes one transaction: the role, conditional on its
// key being free; conditions that no account above defines the name and
// that no account below does (the account's names-below item is absent);
// and a names-below item in each account above, which a later create there
// finds. The conditions come in the order of the conflicts they report.
func (s *Store) CreateRole(ctx context.Context, r account.Role, evs ...event.Event) error {
	what := "create role " + r.Account + "/" + r.Name
	a, err := s.GetAccount(ctx, r.Account)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	above := a.Path[:len(a.Path)-1]
	items := []types.TransactWriteItem{s.putNew(roleItem(r))}
	for i := len(above) - 1; i >= 0; i-- {
		items = append(items, s.absent(roleKey(above[i], r.Name)))
	}
	items = append(items, s.absent(roleBelowKey(r.Account, r.Name)))
	for _, p := range above {
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: s.table, Item: roleBelowKey(p, r.Name)}})
	}
	evItems, err := s.eventPuts(evs, len(items))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	err = s.transactWrite(ctx, append(items, evItems...))
	if err == nil {
		return nil
	}
	reasons, _ := cancelled(err)
	for i, rs := range reasons {
		if str(rs.Code) != reasonConditionFailed || i > len(above)+1 {
			continue
		}
		taken := &store.RoleNameTaken{Name: r.Name, Account: r.Account}
		switch {
		case i == len(above)+1:
			taken.Below = true
		case i > 0:
			taken.Account = above[len(above)-i]
		}
		return fmt.Errorf("%s: %w", what, taken)
	}
	if terr, ok := txError(err); ok {
		return fmt.Errorf("%s: %w", what, terr)
	}
	return fmt.Errorf("%s: %w", what, classify(err))
}

// absent is a transaction's condition that no item has key.
func (s *Store) absent(key item) types.TransactWriteItem {
	e := mustBuild(expression.NewBuilder().WithCondition(notExists))
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                 s.table,
		Key:                       key,
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}}
}

// GetRole implements store.Accounts.
func (s *Store) GetRole(ctx context.Context, acct, name string) (account.Role, error) {
	what := "get role " + acct + "/" + name
	it, err := s.get(ctx, roleKey(acct, name))
	if err != nil {
		return account.Role{}, fmt.Errorf("%s: %w", what, err)
	}
	r, err := decodeRole(it)
	if err != nil {
		return account.Role{}, fmt.Errorf("%s: %w", what, err)
	}
	return r, nil
}

// ListRoles implements store.Accounts: the account's partition, by name.
func (s *Store) ListRoles(ctx context.Context, acct string, limit int, cursor string) (store.Page[account.Role], error) {
	return list(ctx, s, listQuery{
		what:       "list roles of account " + acct,
		pkName:     AttrPK,
		pkValue:    prefixAcct + acct,
		skName:     AttrSK,
		skPrefix:   prefixRole,
		forward:    true,
		consistent: true,
	}, limit, cursor, decodeRole)
}
