package ticket

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gamemesh/gamemesh"
)

// MaxTokenLen caps a token's length before it is parsed.
const MaxTokenLen = 1024

// MinSecretLen is the shortest HS256 secret accepted, in bytes.
const MinSecretLen = 32

// DefaultTTL is how long a ticket is valid after it is issued.
const DefaultTTL = 60 * time.Second

const audience = "gamemesh-gate"

// Claims are what a verified ticket says.
type Claims struct {
	Player    gamemesh.PlayerID
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Signer issues tickets.
type Signer struct {
	key []byte
	ttl time.Duration
}

// NewSigner returns a Signer using secret (at least MinSecretLen bytes) and
// issuing tickets valid for ttl (DefaultTTL when 0).
func NewSigner(secret []byte, ttl time.Duration) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("ticket: secret of %d bytes is shorter than %d", len(secret), MinSecretLen)
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Signer{key: append([]byte(nil), secret...), ttl: ttl}, nil
}

// Sign issues a ticket for player at now.
func (s *Signer) Sign(player gamemesh.PlayerID, now time.Time) (string, Claims, error) {
	c := Claims{Player: player, ID: gamemesh.NewID(), IssuedAt: now.Truncate(time.Second), ExpiresAt: now.Add(s.ttl).Truncate(time.Second)}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject:   string(player),
		ID:        c.ID,
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
		ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
	})
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return "", Claims{}, fmt.Errorf("ticket: signing: %w", err)
	}
	return signed, c, nil
}

// Verifier checks tickets.
type Verifier struct {
	key []byte
}

// NewVerifier returns a Verifier for tickets signed with secret.
func NewVerifier(secret []byte) (*Verifier, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("ticket: secret of %d bytes is shorter than %d", len(secret), MinSecretLen)
	}
	return &Verifier{key: append([]byte(nil), secret...)}, nil
}

// Verify checks token's signature, algorithm, audience, expiry and issued-at
// against now. It returns BAD_TICKET for anything malformed or forged and
// TICKET_EXPIRED for an expired one. It does not check single use: the caller
// records Claims.ID.
func (v *Verifier) Verify(token string, now time.Time) (Claims, error) {
	if len(token) == 0 || len(token) > MaxTokenLen {
		return Claims{}, gamemesh.Errorf(gamemesh.CodeBadTicket, "ticket length %d out of range", len(token))
	}
	var rc jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &rc, func(*jwt.Token) (any, error) { return v.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(audience),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Claims{}, gamemesh.Wrap(gamemesh.CodeTicketExpired, err, "ticket expired")
		}
		return Claims{}, gamemesh.Wrap(gamemesh.CodeBadTicket, err, "invalid ticket")
	}
	p := gamemesh.PlayerID(rc.Subject)
	if !p.Valid() || rc.ID == "" || rc.ExpiresAt == nil || rc.IssuedAt == nil {
		return Claims{}, gamemesh.Errorf(gamemesh.CodeBadTicket, "invalid ticket claims")
	}
	return Claims{Player: p, ID: rc.ID, IssuedAt: rc.IssuedAt.Time, ExpiresAt: rc.ExpiresAt.Time}, nil
}
