// Package eventsapi is the part of the Amazon EventBridge API Latchkey
// calls — PutEvents — over awsjson, without the SDK's EventBridge client
// (see awsjson for why). Inputs and outputs carry the SDK's field names and
// types, so code reads the same.
package eventsapi

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/latchkey/latchkey/shared/awsjson"
)

// Service is EventBridge on the JSON 1.1 protocol.
var Service = awsjson.Service{Name: "events", Target: "AWSEvents", JSONVersion: "1.1", BaseDelay: 50 * time.Millisecond}

// Client calls EventBridge. It is safe for concurrent use.
type Client struct{ c *awsjson.Client }

// New returns an EventBridge client configured by cfg (see awsjson.New).
func New(cfg aws.Config) *Client { return &Client{c: awsjson.New(cfg, Service)} }

// PutEventsInput is the PutEvents request: at most 10 entries.
type PutEventsInput struct {
	Entries []PutEventsRequestEntry
}

// PutEventsRequestEntry is one event to put.
type PutEventsRequestEntry struct {
	Source       *string    `json:",omitempty"`
	DetailType   *string    `json:",omitempty"`
	Detail       *string    `json:",omitempty"`
	EventBusName *string    `json:",omitempty"`
	Resources    []string   `json:",omitempty"`
	Time         *EpochTime `json:",omitempty"`
}

// EpochTime is a time as the JSON protocol sends it: epoch seconds, with a
// fraction for sub-second precision.
type EpochTime time.Time

// Time returns t as a time.Time.
func (t EpochTime) Time() time.Time { return time.Time(t) }

// MarshalJSON writes epoch seconds with millisecond precision.
func (t EpochTime) MarshalJSON() ([]byte, error) { return t.appendJSON(nil), nil }

func (t EpochTime) appendJSON(buf []byte) []byte {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(buf, float64(ms)/1000, 'f', -1, 64)
}

// UnmarshalJSON reads epoch seconds.
func (t *EpochTime) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*t = EpochTime(time.UnixMilli(int64(f*1000 + 0.5)).UTC())
	return nil
}

// At returns t as an *EpochTime for a request.
func At(t time.Time) *EpochTime {
	e := EpochTime(t)
	return &e
}

// PutEventsOutput is the PutEvents answer: one result per entry, in order.
type PutEventsOutput struct {
	FailedEntryCount int32
	Entries          []PutEventsResultEntry
}

// PutEventsResultEntry is one entry's result: an EventId, or an error.
type PutEventsResultEntry struct {
	EventId      *string
	ErrorCode    *string
	ErrorMessage *string
}

// PutEvents puts events on event buses.
func (e *Client) PutEvents(ctx context.Context, in *PutEventsInput) (*PutEventsOutput, error) {
	out := new(PutEventsOutput)
	if err := e.c.Call(ctx, "PutEvents", in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// AppendJSON implements awsjson.Encoder: the request as encoding/json
// would write it, without reflection.
func (in *PutEventsInput) AppendJSON(buf []byte) ([]byte, error) {
	if in == nil {
		return append(buf, "null"...), nil
	}
	o := awsjson.Object{Buf: buf}
	o.Key("Entries")
	if in.Entries == nil {
		o.Buf = append(o.Buf, "null"...)
		return o.End(), nil
	}
	o.Buf = append(o.Buf, '[')
	for i, e := range in.Entries {
		if i > 0 {
			o.Buf = append(o.Buf, ',')
		}
		eo := awsjson.Object{Buf: o.Buf}
		eo.String("Source", e.Source)
		eo.String("DetailType", e.DetailType)
		eo.String("Detail", e.Detail)
		eo.String("EventBusName", e.EventBusName)
		eo.Strings("Resources", e.Resources)
		if e.Time != nil {
			eo.Key("Time")
			eo.Buf = e.Time.appendJSON(eo.Buf)
		}
		o.Buf = eo.End()
	}
	o.Buf = append(o.Buf, ']')
	return o.End(), nil
}
