package scene

import gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"

// slabChunk is how many messages of a kind one allocation holds.
const slabChunk = 256

// slab hands out the messages of one tick's output from chunks, so that a
// tick costs a few allocations instead of one per entity. Chunks are never
// reused: the messages belong to the caller once Step returns. The *Buf
// fields are scratch space reused across observers and ticks.
type slab struct {
	states  []gamev1.EntityState
	deltas  []gamev1.EntityDelta
	updates []gamev1.SceneUpdate
	ptrS    []*gamev1.EntityState
	ptrD    []*gamev1.EntityDelta
	ids     []uint32

	enterBuf  []*gamev1.EntityState
	leaveBuf  []uint32
	updateBuf []*gamev1.EntityDelta
}

// newTick lets the previous tick's chunks go to their owners.
func (a *slab) newTick() {
	a.states, a.deltas, a.updates, a.ptrS, a.ptrD, a.ids = nil, nil, nil, nil, nil, nil
}

func (a *slab) state() *gamev1.EntityState {
	if len(a.states) == cap(a.states) {
		a.states = make([]gamev1.EntityState, 0, slabChunk)
	}
	a.states = a.states[:len(a.states)+1]
	return &a.states[len(a.states)-1]
}

func (a *slab) delta() *gamev1.EntityDelta {
	if len(a.deltas) == cap(a.deltas) {
		a.deltas = make([]gamev1.EntityDelta, 0, slabChunk)
	}
	a.deltas = a.deltas[:len(a.deltas)+1]
	return &a.deltas[len(a.deltas)-1]
}

func (a *slab) update() *gamev1.SceneUpdate {
	if len(a.updates) == cap(a.updates) {
		a.updates = make([]gamev1.SceneUpdate, 0, slabChunk)
	}
	a.updates = a.updates[:len(a.updates)+1]
	return &a.updates[len(a.updates)-1]
}

// keep copies src into a chunk of dst and returns the copy, capped so that an
// append by the caller cannot overwrite a neighbour; nil if src is empty.
func keep[T any](dst *[]T, src []T) []T {
	if len(src) == 0 {
		return nil
	}
	if cap(*dst)-len(*dst) < len(src) {
		*dst = make([]T, 0, max(slabChunk*4, len(src)))
	}
	n := len(*dst)
	*dst = append(*dst, src...)
	return (*dst)[n : n+len(src) : n+len(src)]
}

func (a *slab) keepStates(src []*gamev1.EntityState) []*gamev1.EntityState { return keep(&a.ptrS, src) }
func (a *slab) keepDeltas(src []*gamev1.EntityDelta) []*gamev1.EntityDelta { return keep(&a.ptrD, src) }
func (a *slab) keepIDs(src []uint32) []uint32                              { return keep(&a.ids, src) }
