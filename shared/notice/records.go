package notice

import (
	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
)

// FromRecords is who the running system's notices go to, the one place the
// functions and `latchkey dev` take it from: StoreRecipients over r, with
// the token's contact address and its account's administrator addresses as
// tokenContact and accountAdmins read them from the records.
func FromRecords(r Reader) Recipients {
	return StoreRecipients(r, tokenContact, accountAdmins)
}

// tokenContact is the address of the person responsible for c. The token
// record holds no mail address, so it names nobody.
func tokenContact(credential.Credential) string { return "" }

// accountAdmins are the addresses of a's administrators. The account
// record holds no mail addresses, so it names nobody.
func accountAdmins(account.Account) []string { return nil }
