package scene

import (
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// View is what a client knows of its scene, rebuilt from the SceneInfo it
// got on entering and the SceneUpdates that followed: the reference of how
// a game client reads the stream (bots and tests use it). It is not safe for
// concurrent use.
type View struct {
	Info     *gamev1.SceneInfo
	Self     EntityID
	Tick     uint64
	Entities map[EntityID]*ViewEntity
}

// ViewEntity is an entity as the client knows it; X and Y are in quanta.
type ViewEntity struct {
	ID     EntityID
	Kind   Kind
	Type   string
	Player string
	X, Y   int32
	HP     int32
	MaxHP  int32
	Level  int32
	Status State
	Count  int32
}

// NewView starts the view of a scene the client just entered.
func NewView(info *gamev1.SceneInfo) *View {
	return &View{Info: info, Self: EntityID(info.GetSelfId()), Entities: map[EntityID]*ViewEntity{}}
}

// Apply applies one update: an update with self_id set starts a new view.
func (v *View) Apply(u *gamev1.SceneUpdate) {
	if u.GetSelfId() != 0 {
		v.Self = EntityID(u.GetSelfId())
		clear(v.Entities)
	}
	v.Tick = u.GetTick()
	for _, e := range u.GetEnters() {
		v.Entities[EntityID(e.GetId())] = &ViewEntity{ID: EntityID(e.GetId()), Kind: Kind(e.GetKind()), Type: e.GetTypeId(),
			Player: e.GetPlayerId(), X: e.GetX(), Y: e.GetY(), HP: e.GetHp(), MaxHP: e.GetMaxHp(), Level: e.GetLevel(),
			Status: State(e.GetStatus()), Count: e.GetCount()}
	}
	for _, id := range u.GetLeaves() {
		delete(v.Entities, EntityID(id))
	}
	for _, d := range u.GetUpdates() {
		e := v.Entities[EntityID(d.GetId())]
		if e == nil {
			continue
		}
		e.X += d.GetDx()
		e.Y += d.GetDy()
		e.HP += d.GetDhp()
		e.MaxHP += d.GetDmaxHp()
		e.Level += d.GetDlevel()
		if d.GetStatus() != 0 {
			e.Status = State(d.GetStatus())
		}
	}
}

// Metres returns e's position in metres.
func (v *View) Metres(e *ViewEntity) (x, y float32) {
	q := float32(v.Info.GetQuantumMm()) / 1000
	return float32(e.X) * q, float32(e.Y) * q
}

// Me returns the client's own entity (nil before its first update).
func (v *View) Me() *ViewEntity { return v.Entities[v.Self] }

// Nearest returns the closest entity of kind for which ok is true (nil: none).
func (v *View) Nearest(kind Kind, ok func(*ViewEntity) bool) *ViewEntity {
	me := v.Me()
	if me == nil {
		return nil
	}
	var best *ViewEntity
	var bestD int64
	for _, e := range v.Entities {
		if e.Kind != kind || e.ID == v.Self || (ok != nil && !ok(e)) {
			continue
		}
		dx, dy := int64(e.X-me.X), int64(e.Y-me.Y)
		if d := dx*dx + dy*dy; best == nil || d < bestD || d == bestD && e.ID < best.ID {
			best, bestD = e, d
		}
	}
	return best
}

// Distance returns the distance between a and b in metres.
func (v *View) Distance(a, b *ViewEntity) float32 {
	ax, ay := v.Metres(a)
	bx, by := v.Metres(b)
	return float32(isqrt(int64((ax-bx)*(ax-bx)*1e6+(ay-by)*(ay-by)*1e6))) / 1000
}
