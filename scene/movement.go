package scene

// movePlayers walks every living player with a target toward it, at most
// PlayerSpeed × dt: whatever a client asks, it never goes farther in a tick.
func (s *Scene) movePlayers(dt uint64) {
	max := step(s.cfg.PlayerSpeed, dt)
	for _, e := range s.order {
		if e.kind != KindPlayer || !e.alive() || !e.moving {
			continue
		}
		s.setPos(e, stepToward(e.pos, e.intent, max, 0))
		if e.pos == e.intent {
			e.moving = false
			e.state = StateIdle
		} else {
			e.state = StateMoving
		}
	}
}
