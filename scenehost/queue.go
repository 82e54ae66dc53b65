package scenehost

import (
	"sync"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/scene"
)

// queued is one input waiting for its scene's next tick: a client request
// (answered on its link once the tick applied it) or a host input (join,
// leave) whose then runs on the scene goroutine after the tick.
type queued struct {
	in    scene.Input
	p     *held
	route string
	// then, when set, is called after the tick instead of answering.
	then func(r *sceneRun, out *scene.Output, err *gamemesh.Error)
}

// inputQueue is a scene's bounded queue of inputs. Client inputs are capped
// per scene and per player: beyond either cap push refuses, and the caller
// answers RATE_LIMITED at once, so a flood costs bounded memory. Host inputs
// (joins, leaves) are bounded by the players the host holds and always fit.
type inputQueue struct {
	// wake is signalled when a client input is queued (capacity 1).
	wake      chan struct{}
	mu        sync.Mutex
	items     []queued
	perPlayer map[gamemesh.PlayerID]int
	clients   int
	cap, capP int
}

func newInputQueue(capScene, capPlayer int) *inputQueue {
	return &inputQueue{wake: make(chan struct{}, 1), perPlayer: map[gamemesh.PlayerID]int{}, cap: capScene, capP: capPlayer}
}

// push queues q; false when a client input is over a cap.
func (iq *inputQueue) push(q queued) bool {
	iq.mu.Lock()
	defer iq.mu.Unlock()
	if q.then == nil {
		if iq.clients >= iq.cap || iq.perPlayer[q.in.Player] >= iq.capP {
			return false
		}
		iq.clients++
		iq.perPlayer[q.in.Player]++
		select {
		case iq.wake <- struct{}{}:
		default:
		}
	}
	iq.items = append(iq.items, q)
	return true
}

// take returns the queued inputs in order and empties the queue, keeping
// spare (emptied) as its next buffer.
func (iq *inputQueue) take(spare []queued) []queued {
	iq.mu.Lock()
	defer iq.mu.Unlock()
	items := iq.items
	iq.items = spare[:0]
	iq.clients = 0
	clear(iq.perPlayer)
	return items
}

// len returns how many inputs wait.
func (iq *inputQueue) len() int {
	iq.mu.Lock()
	defer iq.mu.Unlock()
	return len(iq.items)
}
