package meshtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

// configNotifyTimeout bounds how long a change may take to reach a subscriber.
const configNotifyTimeout = 5 * time.Second

// TestConfig runs the ConfigSource conformance cases. newConfig returns the
// source under test and a function that writes one key behind its back (the
// embedded adapter: the watched file; Dapr: the Redis key as "value||version").
func TestConfig(t *testing.T, newConfig func(t *testing.T) (gamemesh.ConfigSource, func(key, value, version string) error)) {
	t.Run("Get", func(t *testing.T) {
		cs, write := newConfig(t)
		ctx := testContext(t)
		p := prefix()
		a, b, missing := p+"-a", p+"-b", p+"-missing"
		mustWrite(t, write, a, "on", "3")
		mustWrite(t, write, b, "42", "7")
		var got map[string]gamemesh.ConfigItem
		// A backend may take a moment to see a write made behind its back.
		waitFor(t, "written keys readable", func() bool {
			var err error
			got, err = cs.Get(ctx, []string{a, b, missing})
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			return got[a] == (gamemesh.ConfigItem{Value: "on", Version: "3"}) &&
				got[b] == (gamemesh.ConfigItem{Value: "42", Version: "7"})
		})
		if _, ok := got[missing]; ok {
			t.Fatalf("Get returned missing key %q: %+v", missing, got[missing])
		}
	})

	t.Run("Subscribe", func(t *testing.T) {
		cs, write := newConfig(t)
		p := prefix()
		key, other := p+"-switch", p+"-other"
		mustWrite(t, write, key, "on", "1")

		calls := newConfigCalls()
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		if err := cs.Subscribe(ctx, []string{key}, calls.record); err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		mustWrite(t, write, key, "off", "2")
		calls.waitFor(t, key, gamemesh.ConfigItem{Value: "off", Version: "2"})
		mustWrite(t, write, other, "x", "1") // not subscribed: may or may not be reported

		cancel()
		time.Sleep(100 * time.Millisecond) // let a call already under way finish
		before := calls.total()
		mustWrite(t, write, key, "after-cancel", "3")
		time.Sleep(time.Second)
		if after := calls.total(); after != before {
			t.Fatalf("fn called %d more times after the subscription's ctx was cancelled", after-before)
		}
	})
}

func mustWrite(t *testing.T, write func(key, value, version string) error, key, value, version string) {
	t.Helper()
	if err := write(key, value, version); err != nil {
		t.Fatalf("write %s = %q||%q: %v", key, value, version, err)
	}
}

// configCalls records what a Subscribe callback received.
type configCalls struct {
	mu    sync.Mutex
	n     int
	items map[string][]gamemesh.ConfigItem
}

func newConfigCalls() *configCalls {
	return &configCalls{items: make(map[string][]gamemesh.ConfigItem)}
}

func (c *configCalls) record(items map[string]gamemesh.ConfigItem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	for k, v := range items {
		c.items[k] = append(c.items[k], v)
	}
}

func (c *configCalls) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *configCalls) has(key string, want gamemesh.ConfigItem) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range c.items[key] {
		if it == want {
			return true
		}
	}
	return false
}

func (c *configCalls) waitFor(t *testing.T, key string, want gamemesh.ConfigItem) {
	t.Helper()
	deadline := time.Now().Add(configNotifyTimeout)
	for !c.has(key, want) {
		if time.Now().After(deadline) {
			c.mu.Lock()
			got := c.items[key]
			c.mu.Unlock()
			t.Fatalf("subscriber did not receive %s = %+v within %v; got %+v", key, want, configNotifyTimeout, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
