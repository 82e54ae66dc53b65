package dapr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	commonv1pb "github.com/dapr/dapr/pkg/proto/common/v1"
	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"

	"github.com/gamemesh/gamemesh"
)

// ConfigOptions configure a ConfigSource.
type ConfigOptions struct {
	// Reconcile is how often a subscription re-reads its keys and delivers
	// what changed without a notification (keyspace notifications are
	// fire-and-forget: lost while anything is disconnected). Default 10 s.
	Reconcile time.Duration
	// MinBackoff and MaxBackoff bound the pause between resubscription
	// attempts after the stream ended. Defaults 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// Handshake bounds the wait for the sidecar to confirm a subscription.
	// Default 5 s.
	Handshake time.Duration
	// Logger receives subscription state changes; nil means the Client's.
	Logger *slog.Logger
}

func (o *ConfigOptions) defaults(c *Client) {
	if o.Reconcile <= 0 {
		o.Reconcile = 10 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.Handshake <= 0 {
		o.Handshake = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = c.log
	}
}

// ConfigSource is a gamemesh.ConfigSource over the Dapr configuration API
// (built for configuration.redis, values "value||version").
//
// A subscription survives the end of its stream (daprd restarted, Redis
// restarted, go-sdk #690): it resubscribes with backoff, re-reads its keys
// right after and on a timer, and delivers what changed either way. While the
// store cannot be read nothing is delivered: subscribers keep their last
// known good values. A key that is gone is delivered once with an empty item.
type ConfigSource struct {
	c     *Client
	store string
	opts  ConfigOptions
	log   *slog.Logger

	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup
}

var _ gamemesh.ConfigSource = (*ConfigSource)(nil)

// NewConfigSource returns a ConfigSource over the configuration store
// component named storeName.
func NewConfigSource(c *Client, storeName string, opts ConfigOptions) *ConfigSource {
	opts.defaults(c)
	return &ConfigSource{
		c:      c,
		store:  storeName,
		opts:   opts,
		log:    opts.Logger.With("configstore", storeName),
		closed: make(chan struct{}),
	}
}

// Get returns the current items for keys; missing keys are absent.
func (s *ConfigSource) Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	out := make(map[string]gamemesh.ConfigItem, len(keys))
	if len(keys) == 0 {
		return out, nil // the Dapr API would return every key of the store
	}
	items, err := s.c.sdk.GetConfigurationItems(ctx, s.store, keys)
	if err != nil {
		return nil, sidecarError(ctx, "configuration get", err)
	}
	for k, it := range items {
		if it != nil && it.Value != "" {
			out[k] = gamemesh.ConfigItem{Value: it.Value, Version: it.Version}
		}
	}
	return out, nil
}

// Subscribe returns once the sidecar confirmed a subscription to keys, and
// calls fn with changed items until ctx is done or Close is called.
func (s *ConfigSource) Subscribe(ctx context.Context, keys []string, fn func(map[string]gamemesh.ConfigItem)) error {
	if len(keys) == 0 || fn == nil {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "subscribe needs keys and a callback")
	}
	select {
	case <-s.closed:
		return gamemesh.Errorf(gamemesh.CodeUnavailable, "configuration source closed")
	default:
	}
	sub := &configSub{src: s, keys: append([]string(nil), keys...), fn: fn, last: map[string]gamemesh.ConfigItem{}}
	st, err := s.open(ctx, sub.keys)
	if err != nil {
		return sidecarError(ctx, "configuration subscribe", err)
	}
	// Baseline for change detection (not delivered: callers Get after Subscribe).
	if cur, err := s.Get(ctx, sub.keys); err == nil {
		sub.last = cur
	} else {
		s.log.Warn("configuration baseline read failed; first reconcile delivers every key", "err", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sub.run(ctx, st)
	}()
	return nil
}

// Close ends every subscription and waits for their goroutines.
func (s *ConfigSource) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
	s.wg.Wait()
}

// configStream is one SubscribeConfiguration stream and its reader.
type configStream struct {
	cancel context.CancelFunc
	msgs   chan *runtimev1pb.SubscribeConfigurationResponse // closed when the stream ends
	err    error                                            // why it ended; read after msgs is closed
}

// open starts a stream and waits for the sidecar's first response (which
// carries the subscription id) so that the subscription is in place.
func (s *ConfigSource) open(ctx context.Context, keys []string) (*configStream, error) {
	sctx, cancel := context.WithCancel(ctx)
	cl, err := s.c.rt.SubscribeConfiguration(sctx, &runtimev1pb.SubscribeConfigurationRequest{StoreName: s.store, Keys: keys})
	if err != nil {
		cancel()
		return nil, err
	}
	st := &configStream{cancel: cancel, msgs: make(chan *runtimev1pb.SubscribeConfigurationResponse, 16)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(st.msgs)
		for {
			m, err := cl.Recv()
			if err != nil {
				st.err = err
				return
			}
			select {
			case st.msgs <- m:
			case <-sctx.Done():
				st.err = sctx.Err()
				return
			}
		}
	}()
	t := time.NewTimer(s.opts.Handshake)
	defer t.Stop()
	select {
	case m, ok := <-st.msgs:
		if !ok {
			cancel()
			return nil, fmt.Errorf("subscription stream ended at once: %w", st.err)
		}
		_ = m // the first response carries the subscription id; items, if any, are covered by the read that follows
		return st, nil
	case <-t.C:
		cancel()
		return nil, errors.New("sidecar did not confirm the subscription in time")
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	case <-s.closed:
		cancel()
		return nil, errors.New("configuration source closed")
	}
}

// settleSteps are the re-reads after each (re)subscription, from its start.
var settleSteps = []time.Duration{250 * time.Millisecond, time.Second, 3 * time.Second}

// configSub is one subscription: its keys, callback and last delivered items.
type configSub struct {
	src  *ConfigSource
	keys []string
	fn   func(map[string]gamemesh.ConfigItem)
	last map[string]gamemesh.ConfigItem
}

func (sub *configSub) run(ctx context.Context, st *configStream) {
	s := sub.src
	log := s.log.With("keys", sub.keys)
	reconcile := time.NewTicker(s.opts.Reconcile)
	defer reconcile.Stop()
	retry := time.NewTimer(0)
	if !retry.Stop() {
		<-retry.C
	}
	defer retry.Stop()
	backoff := s.opts.MinBackoff
	defer func() {
		if st != nil {
			st.cancel()
		}
	}()
	// The sidecar confirms a subscription before configuration.redis has
	// subscribed to Redis (it does so in a goroutine): a change made in that
	// gap is not notified. Re-read a few times soon after each subscription.
	settle := time.NewTimer(settleSteps[0])
	defer settle.Stop()
	step := 0
	for {
		var msgs <-chan *runtimev1pb.SubscribeConfigurationResponse
		if st != nil {
			msgs = st.msgs
		}
		select {
		case <-ctx.Done():
			return
		case <-s.closed:
			return
		case m, ok := <-msgs:
			if !ok {
				log.Warn("configuration subscription ended; resubscribing", "err", st.err, "backoff", backoff)
				st.cancel()
				st = nil
				retry.Reset(backoff)
				continue
			}
			sub.applyNotification(m.GetItems())
		case <-retry.C:
			next, err := s.open(ctx, sub.keys)
			if err != nil {
				backoff = min(backoff*2, s.opts.MaxBackoff)
				log.Warn("configuration resubscribe failed", "err", err, "backoff", backoff)
				retry.Reset(backoff)
				continue
			}
			st, backoff = next, s.opts.MinBackoff
			log.Info("configuration subscription restored")
			sub.reconcile(ctx) // changes made while it was down were not notified
			step = 0
			settle.Reset(settleSteps[0])
		case <-settle.C:
			sub.reconcile(ctx)
			if step++; step < len(settleSteps) {
				settle.Reset(settleSteps[step] - settleSteps[step-1])
			}
		case <-reconcile.C:
			sub.reconcile(ctx)
		}
	}
}

// applyNotification delivers the changes carried by one stream message.
func (sub *configSub) applyNotification(items map[string]*commonv1pb.ConfigurationItem) {
	changed := map[string]gamemesh.ConfigItem{}
	for _, k := range sub.keys {
		it, ok := items[k]
		if !ok {
			continue
		}
		sub.note(changed, k, gamemesh.ConfigItem{Value: it.GetValue(), Version: it.GetVersion()}, it.GetValue() != "")
	}
	sub.deliver(changed)
}

// reconcile re-reads every key and delivers what differs from the last
// delivered items; on a read error it keeps them.
func (sub *configSub) reconcile(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, sub.src.opts.Handshake)
	cur, err := sub.src.Get(rctx, sub.keys)
	cancel()
	if err != nil {
		sub.src.log.Debug("configuration reconcile failed; keeping last known values", "err", err)
		return
	}
	changed := map[string]gamemesh.ConfigItem{}
	for _, k := range sub.keys {
		it, ok := cur[k]
		sub.note(changed, k, it, ok)
	}
	sub.deliver(changed)
}

// note records key's new state (present or gone) into changed if it differs.
func (sub *configSub) note(changed map[string]gamemesh.ConfigItem, key string, it gamemesh.ConfigItem, present bool) {
	prev, had := sub.last[key]
	switch {
	case present && (!had || prev != it):
		sub.last[key] = it
		changed[key] = it
	case !present && had:
		delete(sub.last, key)
		changed[key] = gamemesh.ConfigItem{}
	}
}

func (sub *configSub) deliver(changed map[string]gamemesh.ConfigItem) {
	if len(changed) > 0 {
		sub.fn(changed)
	}
}
