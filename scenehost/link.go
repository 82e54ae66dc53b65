package scenehost

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/internal/linkq"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// maxLinkPending bounds the outputs waiting for a gate's link: a gate that
// cannot keep up is cut off (its players are detached) rather than buffered
// without bound.
const maxLinkPending = 1 << 17

// link is one gate's stream. Producers (scene goroutines, attach and save
// goroutines) queue outputs; the send loop ships everything queued in one
// LinkDown per wake-up, so a tick costs a gate one message.
type link struct {
	gate string
	q    *linkq.Queue[*gamev1.LinkOutput] // Done() when the stream ends or the host stops; Sent() when the send loop returned
}

func newLink(gate string) *link {
	return &link{gate: gate, q: linkq.New[*gamev1.LinkOutput](maxLinkPending)}
}

// closeAfterFlush closes the link once what is queued was sent (or ctx ends).
func (l *link) closeAfterFlush(ctx context.Context) {
	l.close()
	select {
	case <-l.q.Sent():
	case <-ctx.Done():
	}
}

// send queues outs in order; false when the link is closed or over its bound.
func (l *link) send(outs ...*gamev1.LinkOutput) bool {
	if l == nil || len(outs) == 0 {
		return l != nil
	}
	return l.q.Put(outs...)
}

func (l *link) close() { l.q.Close() }

// sendLoop ships the pending outputs until the link closes.
func (l *link) sendLoop(stream gamev1.SceneLink_LinkServer) error {
	return l.q.Run(func(batch []*gamev1.LinkOutput) error { return stream.Send(&gamev1.LinkDown{Outputs: batch}) }, nil)
}

// Link serves one gate's stream (gamev1.SceneLinkServer).
func (h *Host) Link(stream gamev1.SceneLink_LinkServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	if first.GetGateId() == "" || len(first.GetGateId()) > 128 {
		return status.Error(codes.InvalidArgument, "the first LinkUp must name the gate")
	}
	l := newLink(first.GetGateId())
	if !h.addLink(l) {
		return status.Error(codes.Unavailable, "scene host shutting down")
	}
	log := h.log.With("gate", l.gate)
	log.Info("gate linked")
	sendErr := make(chan error, 1)
	h.wg.Go(func() { sendErr <- l.sendLoop(stream) })
	for _, in := range first.GetInputs() {
		h.onInput(l, in)
	}
	for {
		up, err := stream.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) && status.Code(err) != codes.Canceled {
				log.Info("gate link ended", "err", err)
			}
			break
		}
		for _, in := range up.GetInputs() {
			h.onInput(l, in)
		}
	}
	l.close()
	h.dropLink(l)
	if err := <-sendErr; err != nil {
		log.Debug("gate link send ended", "err", err)
	}
	return nil
}

// onInput dispatches one input of a gate.
func (h *Host) onInput(l *link, in *gamev1.LinkInput) {
	player := gamemesh.PlayerID(in.GetPlayerId())
	if !player.Valid() {
		l.send(&gamev1.LinkOutput{Kind: gamev1.LinkOutKind_LINK_OUT_DETACHED, PlayerId: in.GetPlayerId(), Code: gamemesh.CodeInvalidArgument, Error: "malformed player id"})
		return
	}
	switch in.GetOp() {
	case gamev1.LinkOp_LINK_OP_ATTACH:
		h.attach(l, player, in)
	case gamev1.LinkOp_LINK_OP_DETACH:
		h.detach(player, in.GetSessionId())
	case gamev1.LinkOp_LINK_OP_REQUEST:
		h.request(l, player, in)
	default:
		l.send(reply(player, in, gamemesh.Errorf(gamemesh.CodeBadRequest, "unknown link op %d", in.GetOp()), nil))
	}
}

// reply is the answer to request in: err's code and message, or body.
func reply(player gamemesh.PlayerID, in *gamev1.LinkInput, err error, body []byte) *gamev1.LinkOutput {
	out := &gamev1.LinkOutput{Kind: gamev1.LinkOutKind_LINK_OUT_RESPONSE, PlayerId: string(player), SessionId: in.GetSessionId(),
		ReplyTo: in.GetSeq(), Route: in.GetRoute()}
	if err != nil {
		out.Code, out.Error = gamemesh.CodeOf(err), gamemesh.MessageOf(err)
		return out
	}
	out.Body = body
	return out
}

// detached tells the gate the host no longer holds the player.
func detached(p gamemesh.PlayerID, session string, err error) *gamev1.LinkOutput {
	return &gamev1.LinkOutput{Kind: gamev1.LinkOutKind_LINK_OUT_DETACHED, PlayerId: string(p), SessionId: session,
		Code: gamemesh.CodeOf(err), Error: gamemesh.MessageOf(err)}
}
