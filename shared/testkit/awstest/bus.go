package awstest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// BusQueue is an EventBridge bus with one rule whose target is an SQS
// queue, on moto: what an operator wires to route events onward, and how
// a test reads back what reached the bus.
type BusQueue struct {
	// Bus is the event bus name.
	Bus       string
	QueueURL  string
	EventBrdg *eventbridge.Client
	SQS       *sqs.Client
}

// NewBusQueue creates bus name, a queue and a rule on the bus matching
// pattern (an EventBridge event pattern) that targets the queue.
func (m *Moto) NewBusQueue(t testing.TB, name, pattern string) *BusQueue {
	t.Helper()
	ctx := context.Background()
	cfg := m.Config()
	bq := &BusQueue{Bus: name, EventBrdg: eventbridge.NewFromConfig(cfg), SQS: sqs.NewFromConfig(cfg)}
	if _, err := bq.EventBrdg.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("create event bus %s: %v", name, err)
	}
	q, err := bq.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	bq.QueueURL = aws.ToString(q.QueueUrl)
	attrs, err := bq.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	if _, err := bq.EventBrdg.PutRule(ctx, &eventbridge.PutRuleInput{
		Name:         aws.String(name + "-to-queue"),
		EventBusName: aws.String(name),
		EventPattern: aws.String(pattern),
	}); err != nil {
		t.Fatalf("put rule: %v", err)
	}
	if _, err := bq.EventBrdg.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule:         aws.String(name + "-to-queue"),
		EventBusName: aws.String(name),
		Targets:      []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}},
	}); err != nil {
		t.Fatalf("put targets: %v", err)
	}
	return bq
}

// Receive reads events from the queue until it has want of them or, after
// a bounded number of empty polls, fails the test. Each message body is an
// event as EventBridge delivers it to targets.
func (bq *BusQueue) Receive(t testing.TB, want int) []events.EventBridgeEvent {
	t.Helper()
	ctx := context.Background()
	var got []events.EventBridgeEvent
	for empty := 0; len(got) < want; {
		out, err := bq.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(bq.QueueURL),
			MaxNumberOfMessages: 10,
			WaitTimeSeconds:     1,
		})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(out.Messages) == 0 {
			if empty++; empty > 10 {
				t.Fatalf("queue %s: %d events of %d arrived", bq.Bus, len(got), want)
			}
			continue
		}
		for _, msg := range out.Messages {
			var ev events.EventBridgeEvent
			if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &ev); err != nil {
				t.Fatalf("message body is not an event: %v", err)
			}
			got = append(got, ev)
			if _, err := bq.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(bq.QueueURL), ReceiptHandle: msg.ReceiptHandle}); err != nil {
				t.Fatalf("delete message: %v", err)
			}
		}
	}
	return got
}

// Empty fails the test if the queue holds a message.
func (bq *BusQueue) Empty(t testing.TB) {
	t.Helper()
	out, err := bq.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(bq.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
	})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if n := len(out.Messages); n > 0 {
		t.Fatalf("queue %s holds %d more events: %s", bq.Bus, n, aws.ToString(out.Messages[0].Body))
	}
}

var nameSeq atomic.Int64

// UniqueName returns a resource name unique on this test binary's server.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, nameSeq.Add(1))
}
