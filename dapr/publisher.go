package dapr

import (
	"context"

	daprc "github.com/dapr/go-sdk/client"

	"github.com/gamemesh/gamemesh"
)

// Pub/sub wire conventions shared by the Publisher and the App.
const (
	// eventContentType makes daprd carry the payload as CloudEvent
	// data_base64 and hand the subscriber the raw bytes.
	eventContentType = "application/octet-stream"
	// cloudEventIDKey overrides the id of the CloudEvent daprd wraps the
	// payload in; the subscriber sees it as TopicEventRequest.Id.
	cloudEventIDKey = "cloudevent.id"
)

// Publisher is a gamemesh.Publisher over the Dapr pub/sub API.
type Publisher struct {
	c      *Client
	pubsub string
}

var _ gamemesh.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher over the pub/sub component named pubsubName.
func NewPublisher(c *Client, pubsubName string) *Publisher {
	return &Publisher{c: c, pubsub: pubsubName}
}

// Publish publishes ev on topic; it returns once the component accepted it
// (for pubsub.redis: XADD acknowledged). ev.ID becomes the CloudEvent id, so
// subscribers see the same Event.ID; an empty ID gets a fresh one.
func (p *Publisher) Publish(ctx context.Context, topic string, ev gamemesh.Event) error {
	if topic == "" {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "empty topic")
	}
	id := ev.ID
	if id == "" {
		id = gamemesh.NewID()
	}
	data := ev.Data
	if data == nil {
		data = []byte{}
	}
	err := p.c.sdk.PublishEvent(ctx, p.pubsub, topic, data,
		daprc.PublishEventWithContentType(eventContentType),
		daprc.PublishEventWithMetadata(map[string]string{cloudEventIDKey: id}))
	if err != nil {
		return sidecarError(ctx, "publish", err)
	}
	return nil
}
