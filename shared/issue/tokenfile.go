package issue

import (
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/tokenfile"
)

// tokenFile answers with the token as a downloadable <name>.token file.
func tokenFile(status int, cr admin.Created) events.APIGatewayProxyResponse {
	f := tokenfile.File{ID: cr.Credential.ID, Name: cr.Credential.Name, Account: cr.Credential.Account, ExpiresAt: cr.Credential.ExpiresAt}
	if cr.Token != nil {
		f.Token = cr.Token.String()
		f.ClientSecret = cr.Token.ClientSecret()
	}
	return events.APIGatewayProxyResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           "text/plain; charset=utf-8",
			"Content-Disposition":    fmt.Sprintf(`attachment; filename="%s"`, tokenfile.FileName(cr.Credential.Name)),
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		},
		Body: strings.TrimLeft(f.String(), "\n"),
	}
}
