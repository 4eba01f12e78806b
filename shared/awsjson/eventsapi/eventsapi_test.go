package eventsapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

type plainPut PutEventsInput

// The request writes what encoding/json would write from its tags.
func TestRequestEncodesAsJSON(t *testing.T) {
	at := time.Date(2026, 11, 24, 1, 2, 3, 456789000, time.UTC)
	full := PutEventsRequestEntry{Source: aws.String("latchkey"), DetailType: aws.String("API token expired"),
		Detail: aws.String(`{"name":"ci <deploy> & co","days_left":"3"}`), EventBusName: aws.String("bus"),
		Resources: []string{"arn:aws:x", "\u2028"}, Time: At(at)}
	for _, in := range []*PutEventsInput{
		{},
		{Entries: []PutEventsRequestEntry{}},
		{Entries: []PutEventsRequestEntry{{}}},
		{Entries: []PutEventsRequestEntry{full, {Source: aws.String("s"), Resources: []string{}, Time: At(time.Unix(0, 0))}}},
	} {
		got, err := in.AppendJSON(nil)
		std, _ := json.Marshal((*plainPut)(in))
		if err != nil || string(got) != string(std) {
			t.Errorf("wrote %s (%v), encoding/json %s", got, err, std)
		}
	}
}
