package mail

import (
	"context"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// findLive returns the mail id of the box, refusing a missing one with
// NOT_FOUND (the same answer for someone else's mail: a player only ever
// looks in its own box) and an expired one with EXPIRED.
func (a *App) findLive(b *box, id string) (*mailRec, error) {
	m := b.mail(id)
	if m == nil {
		return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no such mail")
	}
	if m.expired(a.now()) {
		return nil, gamemesh.Errorf(gamemesh.CodeExpired, "mail expired")
	}
	return m, nil
}

// read returns one of the caller's mails and marks it read.
func (a *App) read(ctx context.Context, req gamemesh.Request, in *gamev1.ReadMailRequest) (*gamev1.ReadMailResponse, error) {
	player, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	if !gamemesh.ValidKeyPart(in.GetMailId()) {
		return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no such mail")
	}
	var out *mailRec
	_, err = a.change(ctx, player, func(b *box) (bool, error) {
		m, err := a.findLive(b, in.GetMailId())
		if err != nil {
			return false, err
		}
		write := !m.Read
		m.Read = true
		out = m
		return write, nil
	})
	if err != nil {
		return nil, err
	}
	a.rerender(ctx, []*mailRec{out})
	return &gamev1.ReadMailResponse{Mail: out.toProto()}, nil
}
