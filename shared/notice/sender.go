package notice

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// Message is one mail to send.
type Message struct {
	// ID names the mail: the event it is the notice of. A sender that
	// keeps mails (Dir) keeps one per ID.
	ID string
	To []string
	Mail
}

// Sender delivers mails.
type Sender interface {
	// Send delivers m and returns the ID the mail service gave it. A nil
	// error means the service accepted the mail.
	Send(ctx context.Context, m Message) (string, error)
}

// SendEmailAPI is the part of *sesv2.Client SES uses.
type SendEmailAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

var _ SendEmailAPI = (*sesv2.Client)(nil)

// SES sends through Amazon SES v2's SendEmail, with simple content (a
// subject, a text and an HTML body, which SES assembles as one
// multipart/alternative mail), from From, a verified SES identity.
type SES struct {
	API  SendEmailAPI
	From string
}

var _ Sender = (*SES)(nil)

// Send implements Sender.
func (s *SES) Send(ctx context.Context, m Message) (string, error) {
	utf8 := aws.String("UTF-8")
	out, err := s.API.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.From),
		Destination:      &types.Destination{ToAddresses: m.To},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(m.Subject), Charset: utf8},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String(m.Text), Charset: utf8},
				Html: &types.Content{Data: aws.String(m.HTML), Charset: utf8},
			},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("send mail %s with SES: %w", m.ID, err)
	}
	return aws.ToString(out.MessageId), nil
}

// Log is a Sender that writes one log line per mail, with its recipients
// and subject only: `latchkey dev`'s default.
type Log struct {
	Logger *slog.Logger
}

var _ Sender = Log{}

// Send implements Sender.
func (l Log) Send(ctx context.Context, m Message) (string, error) {
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "mail", "to", strings.Join(m.To, ", "), "subject", m.Subject)
	return m.ID, nil
}
