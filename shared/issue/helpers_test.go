package issue

import "github.com/latchkey/latchkey/shared/store"

func storeQuery(acct string) store.EventQuery {
	return store.EventQuery{Account: acct, Limit: store.MaxLimit}
}
