package dapr

import (
	"context"

	"google.golang.org/grpc/codes"

	"github.com/gamemesh/gamemesh"
)

// Secrets reads secrets from a Dapr secret store (the ticket signing key).
type Secrets struct {
	c     *Client
	store string
}

// NewSecrets returns a reader over the secret store component named storeName.
func NewSecrets(c *Client, storeName string) *Secrets {
	return &Secrets{c: c, store: storeName}
}

// Get returns the value of the single-valued secret name (local.env and
// local.file stores hold one value per name). A missing or empty secret is
// NOT_FOUND (local.env answers an empty value for an unset variable); a
// secret the sidecar's Configuration does not allow is PERMISSION_DENIED.
func (s *Secrets) Get(ctx context.Context, name string) (string, error) {
	if name == "" {
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "empty secret name")
	}
	data, err := s.c.sdk.GetSecret(ctx, s.store, name, nil)
	if err != nil {
		if grpcCode(err) == codes.PermissionDenied {
			return "", gamemesh.Wrap(gamemesh.CodePermissionDenied, err, "secret "+name+" is not allowed")
		}
		return "", sidecarError(ctx, "secret get", err)
	}
	if v := data[name]; v != "" {
		return v, nil
	}
	return "", gamemesh.Errorf(gamemesh.CodeNotFound, "secret %s not found", name)
}
