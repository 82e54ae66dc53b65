package scenehost

import (
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/gamedata"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
)

// heldState is where a held player is.
type heldState uint8

const (
	stLoading heldState = iota // checking out its record, then joining
	stIn                       // in a scene
	stMoving                   // leaving its scene for another (checkin, then TRANSFER)
	stOffline                  // its session ended: waiting for its last save (checkin)
)

// appliedCap bounds the grant ids a record remembers (as the player app does).
const appliedCap = 1000

// held is a player this host holds: its record (the host-owned part) in
// memory, its lease, and where it is. mu guards every field but saveMu,
// which orders its saves (one in flight, seq growing).
type held struct {
	id     gamemesh.PlayerID
	saveMu sync.Mutex
	// loaded is closed once the record is checked out (or the checkout
	// failed: then epoch stays 0).
	loaded     chan struct{}
	loadedOnce sync.Once

	mu      sync.Mutex
	session string
	link    *link
	scene   *sceneRun
	state   heldState
	// wantOut: the session ended while loading or moving.
	wantOut bool

	base      *gamev1.PlayerRecord // the record as checked out (name, creation time...)
	level     int64
	xp        int64
	inv       map[string]int64
	applied   []string
	appliedOK map[string]bool

	epoch      uint64
	seq        uint64 // last save sent
	version    uint64 // grows at every change
	savedVer   uint64 // version of the last successful save
	lastSave   time.Time
	urgent     bool     // save at the next round, not at the interval
	unacked    []string // grant ids applied, to acknowledge once saved
	failures   int      // consecutive failed saves
	nextTry    time.Time
	checkingIn bool
}

// load fills p from a checked-out record.
func (p *held) load(rec *gamev1.PlayerRecord, epoch uint64, now time.Time) {
	p.base = rec
	p.level = max(rec.GetLevel(), 1)
	p.xp = rec.GetXp()
	p.inv = maps.Clone(rec.GetInventory())
	if p.inv == nil {
		p.inv = map[string]int64{}
	}
	p.applied = slices.Clone(rec.GetAppliedGrants())
	p.appliedOK = make(map[string]bool, len(p.applied))
	for _, g := range p.applied {
		p.appliedOK[g] = true
	}
	p.epoch, p.seq, p.lastSave = epoch, 0, now
	p.version, p.savedVer = 0, 0
}

// markLoaded wakes those waiting for the record.
func (p *held) markLoaded() { p.loadedOnce.Do(func() { close(p.loaded) }) }

// record is the player's record as this host holds it. p.mu is held.
func (p *held) record() *gamev1.PlayerRecord {
	rec := proto.Clone(p.base).(*gamev1.PlayerRecord)
	rec.Level, rec.Xp, rec.Inventory, rec.AppliedGrants = p.level, p.xp, maps.Clone(p.inv), slices.Clone(p.applied)
	return rec
}

// snapshot returns the state to save under the next seq. p.mu is held.
func (p *held) snapshot() *gamev1.PlayerState {
	return &gamev1.PlayerState{Level: p.level, Xp: p.xp, Inventory: maps.Clone(p.inv), AppliedGrants: slices.Clone(p.applied)}
}

// changed marks the record dirty. p.mu is held.
func (p *held) changed() { p.version++ }

// dirty reports unsaved changes. p.mu is held.
func (p *held) dirty() bool { return p.version != p.savedVer }

// grant adds items under grant id once: a grant already applied, or one
// naming an unknown item or overflowing a stack, changes nothing (the
// latter is reported). p.mu is held.
func (p *held) grant(id string, items []*gamev1.Item) (applied bool, err error) {
	if p.appliedOK[id] {
		return false, nil
	}
	cat := gamedata.Items()
	next := map[string]int64{}
	for _, it := range items {
		cur, ok := next[it.GetId()]
		if !ok {
			cur = p.inv[it.GetId()]
		}
		if err := cat.CheckItem(it.GetId(), cur+it.GetCount()); err != nil || it.GetCount() <= 0 {
			if err == nil {
				err = gamemesh.Errorf(gamemesh.CodeInvalidArgument, "item %s: count %d is not positive", it.GetId(), it.GetCount())
			}
			return false, err
		}
		next[it.GetId()] = cur + it.GetCount()
	}
	maps.Copy(p.inv, next)
	p.applied = append(p.applied, id)
	p.appliedOK[id] = true
	if n := len(p.applied) - appliedCap; n > 0 {
		for _, old := range p.applied[:n] {
			delete(p.appliedOK, old)
		}
		p.applied = slices.Clone(p.applied[n:])
	}
	p.changed()
	return true, nil
}

// pickup applies a scene grant (a drop picked up). p.mu is held.
func (p *held) pickup(g scene.Grant) error {
	_, err := p.grant(g.ID, []*gamev1.Item{{Id: g.Item, Count: g.Count}})
	return err
}

// progress takes level and experience from the scene. p.mu is held.
func (p *held) progress(v scene.EntityView) {
	if int64(v.Level) != p.level || v.XP != p.xp {
		p.level, p.xp = int64(max(v.Level, 1)), v.XP
		p.changed()
	}
}

func (p *held) sessionID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.session
}

func (p *held) linkOf() *link {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.link
}
