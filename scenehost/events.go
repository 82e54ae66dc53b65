package scenehost

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
)

// EventsTopic is where scene hosts publish game events for achievements.
const EventsTopic = "game.events"

// Game event kinds published.
const (
	KindMonsterKilled  = "monster_killed"
	KindLevelUp        = "level_up"
	KindItemGained     = "item_gained"
	KindDungeonCleared = "dungeon_cleared"
)

// eventQueue publishes game events from its own goroutine, so a slow or
// failing publisher never stalls a tick. Each event is retried until it is
// acknowledged, with the same id (at least once; consumers dedupe). The
// queue is bounded: beyond it events are dropped and counted.
type eventQueue struct {
	pub gamemesh.Publisher
	m   *metrics
	log *slog.Logger
	ch  chan gamemesh.Event

	once sync.Once
	stop chan struct{}
}

func newEventQueue(pub gamemesh.Publisher, size int, m *metrics, log *slog.Logger) *eventQueue {
	return &eventQueue{pub: pub, m: m, log: log, ch: make(chan gamemesh.Event, size), stop: make(chan struct{})}
}

func (q *eventQueue) put(ev gamemesh.Event) {
	select {
	case q.ch <- ev:
	default:
		q.m.eventsDropped.Inc()
	}
}

// close asks the loop to publish what is queued and return.
func (q *eventQueue) close() { q.once.Do(func() { close(q.stop) }) }

func (q *eventQueue) loop(ctx context.Context) {
	for {
		select {
		case ev := <-q.ch:
			q.publish(ctx, ev)
		case <-q.stop:
			// Publish what is queued, for a bounded time.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			for {
				select {
				case ev := <-q.ch:
					q.publish(dctx, ev)
				default:
					return
				}
			}
		}
	}
}

func (q *eventQueue) publish(ctx context.Context, ev gamemesh.Event) {
	for attempt := 0; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := q.pub.Publish(pctx, EventsTopic, ev)
		cancel()
		if err == nil {
			return
		}
		q.m.eventsFailed.Inc()
		if attempt == 0 {
			q.log.Warn("publishing a game event failed; retrying", "event", ev.ID, "err", err)
		}
		select {
		case <-ctx.Done():
			q.m.eventsDropped.Inc()
			return
		case <-q.stop:
			if attempt > 3 {
				q.m.eventsDropped.Inc()
				return
			}
		case <-time.After(min(time.Duration(attempt+1)*200*time.Millisecond, 5*time.Second)):
		}
	}
}

// GameEvent is the game event (topic game.events, a gamev1.GameEvent) that
// the i-th event of a tick of scene run runID becomes; false for kinds
// achievements do not take.
func GameEvent(runID string, i int, ev scene.Event, now time.Time) (gamemesh.Event, bool) {
	ge := &gamev1.GameEvent{PlayerId: string(ev.Player), AtMs: now.UnixMilli()}
	switch ev.Kind {
	case scene.EventMonsterKilled:
		ge.Kind, ge.Count = KindMonsterKilled, 1
	case scene.EventLevelUp:
		ge.Kind, ge.Level = KindLevelUp, int64(ev.Level)
	case scene.EventItemGained:
		ge.Kind, ge.Count, ge.ItemId = KindItemGained, min(max(ev.Count, 1), 1_000_000), ev.Type
	case scene.EventCleared:
		ge.Kind, ge.Count = KindDungeonCleared, 1
	default:
		return gamemesh.Event{}, false
	}
	// The id names the run, the tick and the place in it: stable across
	// retries, unique across runs (each run has its own seed).
	ge.Id = "scene-" + runID + "-" + strconv.FormatUint(ev.Tick, 10) + "-" + strconv.Itoa(i)
	data, _ := proto.Marshal(ge)
	return gamemesh.Event{ID: ge.Id, Data: data}, true
}

// applyOutput takes a tick's grants into the records and publishes its
// events. It runs on r's goroutine.
func (h *Host) applyOutput(r *sceneRun, out *scene.Output) {
	for _, g := range out.Grants {
		p := r.members[g.Player]
		if p == nil {
			continue
		}
		p.mu.Lock()
		err := p.pickup(g)
		p.mu.Unlock()
		if err != nil {
			h.log.Warn("pickup not applied", "player", g.Player, "item", g.Item, "err", err)
		}
	}
	if len(out.Events) == 0 {
		return
	}
	now := time.Now()
	for i, ev := range out.Events {
		if p := r.members[ev.Player]; p != nil && (ev.Kind == scene.EventMonsterKilled || ev.Kind == scene.EventLevelUp) {
			if v, ok := r.s.Player(ev.Player); ok {
				p.mu.Lock()
				p.progress(v)
				p.mu.Unlock()
			}
		}
		if e, ok := GameEvent(r.runID, i, ev, now); ok {
			h.events.put(e)
		}
	}
}
