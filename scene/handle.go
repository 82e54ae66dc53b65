package scene

import (
	"math"

	"github.com/gamemesh/gamemesh"
)

// handleInputs applies the tick's inputs in order. Each refused input leaves
// the scene unchanged and gets one InputError. The per-player input count
// runs from the previous Step (Apply counts too) and is cleared by Step.
func (s *Scene) handleInputs(inputs []Input) {
	for i, in := range inputs {
		s.handleInput(i, in)
	}
}

// Apply applies client inputs (move, cast, pickup) now, between two Steps,
// exactly as if they were the first inputs of the next Step at Tick()+1:
// the same checks against the same state and clock, in the same order,
// counted against the same MaxInputsPerPlayer; so Apply(a); Apply(b);
// Step(Tick()+1, c) gives what Step(Tick()+1, a+b+c) gives. It returns the refusals (Index is the position in
// inputs); what the accepted ones produce (combat, pickups and their
// events) comes in the next Step's Output. A scene host calls it as inputs
// arrive, to answer them without waiting for the tick.
func (s *Scene) Apply(inputs []Input) []InputError {
	if s.carry == nil {
		s.carry = &Output{}
	}
	s.out = s.carry
	s.tick++ // the checks see the clock of the tick that will apply them
	defer func() { s.tick-- }()
	before := len(s.carry.Errors)
	for i, in := range inputs {
		if !in.Kind.fromClient() {
			s.carry.Errors = append(s.carry.Errors, InputError{Index: i, Kind: in.Kind, Player: in.Player, Seq: in.Seq,
				Err: gamemesh.Errorf(gamemesh.CodeInvalidArgument, "%v inputs are applied by Step only", in.Kind)})
			continue
		}
		s.handleInput(i, in)
	}
	s.out = nil
	errs := append([]InputError(nil), s.carry.Errors[before:]...)
	s.carry.Errors = s.carry.Errors[:before]
	return errs
}

// handleInput applies input i of a batch.
func (s *Scene) handleInput(i int, in Input) {
	var err *gamemesh.Error
	if in.Kind.fromClient() {
		s.inCount[in.Player]++
		if s.inCount[in.Player] > s.cfg.MaxInputsPerPlayer {
			s.out.Dropped++
			err = gamemesh.Errorf(gamemesh.CodeRateLimited, "more than %d inputs in one tick", s.cfg.MaxInputsPerPlayer)
		}
	}
	if err == nil {
		err = s.apply(in)
	}
	if err != nil {
		s.out.Errors = append(s.out.Errors, InputError{Index: i, Kind: in.Kind, Player: in.Player, Seq: in.Seq, Err: err})
	}
}

func (s *Scene) apply(in Input) *gamemesh.Error {
	if !in.Player.Valid() {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "malformed player id %q", in.Player)
	}
	if in.Kind == InputJoin {
		return s.join(in)
	}
	p, ok := s.players[in.Player]
	if !ok {
		return gamemesh.Errorf(gamemesh.CodeNotFound, "player %s is not in this scene", in.Player)
	}
	switch in.Kind {
	case InputLeave:
		s.out.Left = append(s.out.Left, p.view())
		s.remove(p)
		return nil
	case InputResync:
		p.obs.reset()
		return nil
	case InputMove, InputCast, InputPickup:
		if !p.alive() {
			return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "player %s is dead", in.Player)
		}
	default:
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "unknown input kind %d", in.Kind)
	}
	switch in.Kind {
	case InputMove:
		return s.move(p, in)
	case InputCast:
		return s.cast(p, in)
	default:
		return s.pickup(p, in)
	}
}

// checkPos converts client metres to a position, refusing NaN, infinities and
// points outside the map.
func (s *Scene) checkPos(x, y float32) (Pos, *gamemesh.Error) {
	fx, fy := float64(x), float64(y)
	if math.IsNaN(fx) || math.IsNaN(fy) || math.IsInf(fx, 0) || math.IsInf(fy, 0) {
		return Pos{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "position is not a finite number")
	}
	// Round to the millimetre first: a float32 of a point on the edge may
	// overshoot it by a fraction of a millimetre.
	mx, my := math.Round(fx*float64(Meter)), math.Round(fy*float64(Meter))
	if mx < 0 || my < 0 || mx > float64(s.cfg.Width) || my > float64(s.cfg.Height) {
		return Pos{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "position (%g,%g) is outside the %v×%v m map", x, y, s.cfg.Width, s.cfg.Height)
	}
	return Pos{X: Fixed(mx), Y: Fixed(my)}, nil
}

func (s *Scene) join(in Input) *gamemesh.Error {
	if _, ok := s.players[in.Player]; ok {
		return gamemesh.Errorf(gamemesh.CodeAlreadyDone, "player %s is already in this scene", in.Player)
	}
	if s.cfg.MaxPlayers > 0 && len(s.players) >= s.cfg.MaxPlayers {
		return gamemesh.Errorf(gamemesh.CodeLimitReached, "scene is full (%d players)", s.cfg.MaxPlayers)
	}
	level := max(in.Level, 1)
	if level > s.cfg.MaxLevel || in.XP < 0 {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "level %d or experience %d out of range", in.Level, in.XP)
	}
	pos := s.cfg.PlayerSpawn
	if !in.AtSpawn {
		var err *gamemesh.Error
		if pos, err = s.checkPos(in.X, in.Y); err != nil {
			return err
		}
	}
	e := &entity{kind: KindPlayer, pos: pos, state: StateIdle, player: in.Player, level: level, xp: in.XP, obs: &observer{}}
	e.maxHP = s.playerMaxHP(level)
	e.hp = e.maxHP
	s.add(e)
	s.players[in.Player] = e
	return nil
}

func (s *Scene) playerMaxHP(level int32) int32 {
	return s.cfg.PlayerBaseHP + s.cfg.PlayerHPPerLevel*(level-1)
}

// move sets the player's walk target. The player walks there in movePlayers,
// at most PlayerSpeed × dt per tick: a client cannot teleport.
func (s *Scene) move(p *entity, in Input) *gamemesh.Error {
	to, err := s.checkPos(in.X, in.Y)
	if err != nil {
		return err
	}
	if in.ClientTick != 0 && in.ClientTick < p.clientTick {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "move of client tick %d is older than %d", in.ClientTick, p.clientTick)
	}
	if !within(p.pos, to, s.cfg.MaxMoveDistance) {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "move target %v is %v m away, more than %v m",
			to, Fixed(isqrt(dist2(p.pos, to))), s.cfg.MaxMoveDistance)
	}
	p.intent, p.moving = to, true
	p.clientTick = max(p.clientTick, in.ClientTick)
	return nil
}

func (s *Scene) cast(p *entity, in Input) *gamemesh.Error {
	sk, ok := s.skills[in.Skill]
	if !ok || !sk.Player {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "unknown skill %d", in.Skill)
	}
	t, ok := s.byID[in.Target]
	switch {
	case !ok:
		return gamemesh.Errorf(gamemesh.CodeNotFound, "no entity %d", in.Target)
	case t.kind == KindPlayer && !s.pvp:
		return gamemesh.Errorf(gamemesh.CodeFeatureDisabled, "player versus player is switched off in this scene")
	case t == p || t.kind != KindMonster && t.kind != KindPlayer:
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "entity %d is a %v and cannot be attacked", in.Target, t.kind)
	case !t.alive():
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "entity %d is dead", in.Target)
	case !p.ready(sk.ID, s.tick):
		return gamemesh.Errorf(gamemesh.CodeRateLimited, "skill %d is on cooldown", sk.ID)
	case !within(p.pos, t.pos, sk.Range):
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "entity %d is %v m away, skill %d reaches %v m",
			in.Target, Fixed(isqrt(dist2(p.pos, t.pos))), sk.ID, sk.Range)
	}
	p.startCooldown(sk.ID, s.tick, sk.Cooldown)
	p.facing = facingOf(p.pos, t.pos, p.facing)
	s.pending = append(s.pending, pendingCombat{attacker: p, defender: t, skill: sk})
	return nil
}

func (s *Scene) pickup(p *entity, in Input) *gamemesh.Error {
	d, ok := s.byID[in.Target]
	switch {
	case !ok || d.kind != KindDrop:
		return gamemesh.Errorf(gamemesh.CodeNotFound, "no drop %d", in.Target)
	case !within(p.pos, d.pos, s.cfg.PickupRange):
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "drop %d is %v m away, more than %v m",
			in.Target, Fixed(isqrt(dist2(p.pos, d.pos))), s.cfg.PickupRange)
	case d.owner != "" && d.owner != p.player && s.tick < d.ownerUntil:
		return gamemesh.Errorf(gamemesh.CodePermissionDenied, "drop %d belongs to another player for %d more ticks", in.Target, d.ownerUntil-s.tick)
	}
	s.out.Grants = append(s.out.Grants, Grant{ID: s.grantID(d), Player: p.player, Item: d.typ, Count: int64(d.count)})
	s.out.Events = append(s.out.Events, Event{Kind: EventItemGained, Tick: s.tick, Player: p.player, Entity: d.id, Type: d.typ, Count: int64(d.count)})
	s.remove(d)
	return nil
}
