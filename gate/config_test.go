package gate

import (
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/wire"
)

func TestConfigValidationOutputAndQueueLimits(t *testing.T) {
	t.Parallel()
	deps := Deps{Invoker: invokerFunc(nil), Tickets: fakeVerifier{}, Used: &usedTickets{}, Directory: nopDirectory{}, Subscriber: &subscriber{}}
	cfg := testConfig()
	cfg.MaxOutFrame = MinFrameSize - 1
	cfg.MaxRateRefusals = -1
	cfg.QueueIdleTimeout = -time.Second
	cfg.QueueKeepAlive = -time.Second
	cfg.HTTPTimeout = -time.Second
	cfg.GuestLoginRate = -1
	cfg.GuestLoginBurst = -1
	_, err := New(cfg, deps)
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"MaxOutFrame", "MaxRateRefusals", "QueueIdleTimeout", "QueueKeepAlive", "HTTPTimeout", "GuestLoginRate", "GuestLoginBurst"} {
		if !contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	cfg = testConfig()
	cfg.MaxOutFrame = MaxFrameLimit + 1
	if _, err := New(cfg, deps); err == nil || !contains(err.Error(), "MaxOutFrame") {
		t.Fatalf("MaxOutFrame over the limit: %v", err)
	}

	d := testConfig().withDefaults()
	if d.MaxOutFrame != wire.DefaultMaxFrame || d.MaxRateRefusals != DefaultMaxRateRefusals ||
		d.QueueIdleTimeout != DefaultQueueIdleTimeout || d.QueueKeepAlive != DefaultQueueKeepAlive ||
		d.HTTPTimeout != DefaultHTTPTimeout || d.GuestLoginRate != DefaultGuestLoginRate || d.GuestLoginBurst != DefaultGuestLoginBurst {
		t.Fatalf("defaults %+v", d)
	}
}
