//go:build integration

package integration

import (
	"context"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/meshtest"
)

// startSubscriberApp serves subs as a Dapr app (app id appID) with its own
// sidecar, and returns the sidecar once it has read the subscriptions.
func startSubscriberApp(t *testing.T, r *Redis, appID string, subs []gamemesh.Subscription) *Sidecar {
	t.Helper()
	app, err := dapr.NewApp(dapr.AppOptions{PubSub: "pubsub", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if err := app.Subscribe(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	startApp(t, dapr.AppOptions{}, app)
	return StartSidecar(t, r, SidecarOptions{AppID: appID, AppPort: app.Port()})
}

// TestPubSubConformance runs the pub/sub suite: events published through one
// sidecar (login) reach subscriptions served by an App behind another (mail).
func TestPubSubConformance(t *testing.T) {
	r := StartRedis(t)
	pubSide := StartSidecar(t, r, SidecarOptions{AppID: "login"})
	pub := dapr.NewPublisher(pubSide.Client(t), "pubsub")
	meshtest.TestPubSub(t, func(t *testing.T, subs []gamemesh.Subscription) gamemesh.Publisher {
		startSubscriberApp(t, r, "mail", subs)
		return pub
	})
}
