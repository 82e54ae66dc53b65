package dapr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	daprc "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Environment variables a Dapr app and its client read (the names daprd and
// the Dapr CLI use).
const (
	EnvGRPCPort     = "DAPR_GRPC_PORT"
	EnvGRPCEndpoint = "DAPR_GRPC_ENDPOINT"
	EnvAPIToken     = "DAPR_API_TOKEN"
	EnvAppAPIToken  = "APP_API_TOKEN"
)

// tokenHeader is the gRPC metadata key carrying both tokens.
const tokenHeader = "dapr-api-token"

// Options configure the connection to a sidecar's gRPC API.
type Options struct {
	// Address is host:port of daprd's gRPC API.
	Address string
	// APIToken, when set, is sent as dapr-api-token on every call; daprd
	// refuses calls without it when it runs with DAPR_API_TOKEN.
	APIToken string
	// Logger receives the client's logs; nil means slog.Default().
	Logger *slog.Logger
}

// OptionsFromEnv returns Options from DAPR_GRPC_ENDPOINT (or
// 127.0.0.1:$DAPR_GRPC_PORT, default port 50001) and DAPR_API_TOKEN.
func OptionsFromEnv(logger *slog.Logger) Options {
	addr := os.Getenv(EnvGRPCEndpoint)
	if addr == "" {
		port := os.Getenv(EnvGRPCPort)
		if port == "" {
			port = "50001"
		}
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return Options{Address: addr, APIToken: os.Getenv(EnvAPIToken), Logger: logger}
}

// Client is a connection to one sidecar, shared by the adapters built from it.
type Client struct {
	conn *grpc.ClientConn
	sdk  daprc.Client
	rt   runtimev1pb.DaprClient
	log  *slog.Logger
}

// Dial connects lazily to the sidecar at opts.Address: it does not wait for
// the sidecar (see WaitReady).
func Dial(opts Options) (*Client, error) {
	if opts.Address == "" {
		return nil, errors.New("dapr: empty sidecar address")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("gamemesh"),
		// The sidecar is local: after it restarts, reconnect within a second
		// or two instead of gRPC's default backoff (up to 2 minutes).
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: time.Second,
		}),
	}
	if opts.APIToken != "" {
		token := opts.APIToken
		// Append (go-sdk's own interceptor replaces the outgoing metadata, which
		// would drop the invocation metadata the Invoker sets).
		dialOpts = append(dialOpts,
			grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, o ...grpc.CallOption) error {
				return inv(metadata.AppendToOutgoingContext(ctx, tokenHeader, token), method, req, reply, cc, o...)
			}),
			grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, s grpc.Streamer, o ...grpc.CallOption) (grpc.ClientStream, error) {
				return s(metadata.AppendToOutgoingContext(ctx, tokenHeader, token), desc, cc, method, o...)
			}),
		)
	}
	conn, err := grpc.NewClient(opts.Address, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("dapr: connecting to sidecar %s: %w", opts.Address, err)
	}
	sdk := daprc.NewClientWithConnection(conn)
	return &Client{
		conn: conn,
		sdk:  sdk,
		rt:   sdk.GrpcClient(),
		log:  log.With("component", "dapr", "sidecar", opts.Address),
	}, nil
}

// WaitReady polls the sidecar until its API answers or ctx is done.
func (c *Client) WaitReady(ctx context.Context) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := c.rt.GetMetadata(cctx, &runtimev1pb.GetMetadataRequest{})
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dapr: sidecar not ready: %w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// Close closes the connection; adapters built from c stop working.
func (c *Client) Close() error {
	return c.conn.Close()
}

// Shutdown asks the sidecar to shut down (tests and graceful process exits).
func (c *Client) Shutdown(ctx context.Context) error {
	_, err := c.rt.Shutdown(ctx, &runtimev1pb.ShutdownRequest{})
	return err
}
