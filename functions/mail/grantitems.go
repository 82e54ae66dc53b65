package mail

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// DefaultGrantSource is the Grant.Source of a mail.grant that names none.
const DefaultGrantSource = "grant"

// maxSourceLen bounds GrantItemsRequest.source.
const maxSourceLen = 32

// grantIDOf derives the grant id of a mail.grant from its request id.
func grantIDOf(requestID string) string {
	h := sha256.New()
	writeField(h, "grant")
	writeField(h, requestID)
	return "grant-" + hex.EncodeToString(h.Sum(nil))[:24]
}

// grant queues items for a player without a mail (service method
// mail.grant): the grant goes into the same outbox of the player's box that
// claimed attachments wait in, and the inventory owner applies it once by
// id. It is idempotent by request_id: the request is remembered in the box
// (RequestIDWindow, like sends) in the same write as the grant, and the grant
// id derives from it, so a retry — even one that lands after the grant was
// applied and acknowledged — answers the same grant id and grants nothing
// twice. The same request id with other content is INVALID_ARGUMENT.
func (a *App) grant(ctx context.Context, _ gamemesh.Request, in *gamev1.GrantItemsRequest) (*gamev1.GrantItemsResponse, error) {
	player, err := checkPlayer(in.GetPlayerId())
	if err != nil {
		return nil, err
	}
	if !validRequestID(in.GetRequestId()) {
		return nil, invalid("request_id must be %d to %d printable characters", minRequestIDLen, maxRequestIDLen)
	}
	source := in.GetSource()
	if source == "" {
		source = DefaultGrantSource
	} else if !validSource(source) {
		return nil, invalid("source must be 1 to %d characters of [a-z0-9_.-]", maxSourceLen)
	}
	if len(in.GetItems()) == 0 {
		return nil, invalid("nothing to grant")
	}
	items, err := a.checkItems(in.GetItems())
	if err != nil {
		return nil, err
	}
	if err := a.checkRecipient(ctx, player); err != nil {
		return nil, err
	}
	id, digest := grantIDOf(in.GetRequestId()), grantDigest(items, source)
	added := false
	_, err = a.update(ctx, player, func(b *box) (bool, error) {
		added = false
		for _, g := range b.Granted {
			if g.RequestID == in.GetRequestId() {
				if g.Digest != digest {
					return false, invalid("request_id already used for a different grant")
				}
				return false, nil
			}
		}
		if len(b.Grants) >= a.cfg.MaxPendingGrants {
			return false, errTooManyGrants
		}
		b.Grants = append(b.Grants, &grantRec{ID: id, Items: items, Source: source})
		b.Granted = append(b.Granted, grantReq{RequestID: in.GetRequestId(), GrantID: id, Digest: digest, AtMs: a.now().UnixMilli()})
		added = true
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if added {
		a.log.InfoContext(ctx, "items granted", "player", player, "grant", id, "source", source, "items", len(items))
	}
	a.announce(ctx, player, id) // also on a retry: the event id is the grant id
	return &gamev1.GrantItemsResponse{GrantId: id}, nil
}

func validSource(s string) bool {
	if len(s) < 1 || len(s) > maxSourceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func grantDigest(items []itemRec, source string) string {
	h := sha256.New()
	writeField(h, source)
	for _, it := range items {
		writeField(h, it.ID)
		_ = binary.Write(h, binary.BigEndian, it.Count)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
