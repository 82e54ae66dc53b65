package dapr

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	commonv1pb "github.com/dapr/dapr/pkg/proto/common/v1"
	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// fakeDaprd is a scriptable stand-in for daprd's gRPC API: each handler
// field, when set, answers the call; every request is recorded.
type fakeDaprd struct {
	runtimev1pb.UnimplementedDaprServer

	mu         sync.Mutex
	saves      []*runtimev1pb.SaveStateRequest
	deletes    []*runtimev1pb.DeleteStateRequest
	publishes  []*runtimev1pb.PublishEventRequest
	subscribes int

	save      func(*runtimev1pb.SaveStateRequest) error
	get       func(*runtimev1pb.GetStateRequest) (*runtimev1pb.GetStateResponse, error)
	del       func(*runtimev1pb.DeleteStateRequest) error
	invoke    func(context.Context, *runtimev1pb.InvokeServiceRequest) (*commonv1pb.InvokeResponse, error)
	getConfig func(*runtimev1pb.GetConfigurationRequest) (*runtimev1pb.GetConfigurationResponse, error)
	subConfig func(*runtimev1pb.SubscribeConfigurationRequest, runtimev1pb.Dapr_SubscribeConfigurationServer) error
}

// startFake serves f on loopback and returns a Client dialled to it.
func startFake(t *testing.T, f *fakeDaprd) *Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	runtimev1pb.RegisterDaprServer(srv, f)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	c, err := Dial(Options{Address: lis.Addr().String(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		srv.Stop()
		<-done
	})
	return c
}

func (f *fakeDaprd) SaveState(_ context.Context, in *runtimev1pb.SaveStateRequest) (*emptypb.Empty, error) {
	f.mu.Lock()
	f.saves = append(f.saves, in)
	fn := f.save
	f.mu.Unlock()
	if fn != nil {
		if err := fn(in); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

func (f *fakeDaprd) GetState(_ context.Context, in *runtimev1pb.GetStateRequest) (*runtimev1pb.GetStateResponse, error) {
	if f.get == nil {
		return &runtimev1pb.GetStateResponse{}, nil
	}
	return f.get(in)
}

func (f *fakeDaprd) DeleteState(_ context.Context, in *runtimev1pb.DeleteStateRequest) (*emptypb.Empty, error) {
	f.mu.Lock()
	f.deletes = append(f.deletes, in)
	fn := f.del
	f.mu.Unlock()
	if fn != nil {
		if err := fn(in); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

func (f *fakeDaprd) PublishEvent(_ context.Context, in *runtimev1pb.PublishEventRequest) (*emptypb.Empty, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.publishes = append(f.publishes, in)
	return &emptypb.Empty{}, nil
}

func (f *fakeDaprd) InvokeService(ctx context.Context, in *runtimev1pb.InvokeServiceRequest) (*commonv1pb.InvokeResponse, error) {
	return f.invoke(ctx, in)
}

func (f *fakeDaprd) GetConfiguration(_ context.Context, in *runtimev1pb.GetConfigurationRequest) (*runtimev1pb.GetConfigurationResponse, error) {
	return f.getConfig(in)
}

func (f *fakeDaprd) SubscribeConfiguration(in *runtimev1pb.SubscribeConfigurationRequest, s runtimev1pb.Dapr_SubscribeConfigurationServer) error {
	f.mu.Lock()
	f.subscribes++
	f.mu.Unlock()
	return f.subConfig(in, s)
}

func (f *fakeDaprd) GetMetadata(context.Context, *runtimev1pb.GetMetadataRequest) (*runtimev1pb.GetMetadataResponse, error) {
	return &runtimev1pb.GetMetadataResponse{Id: "fake"}, nil
}

func (f *fakeDaprd) lastSave() *runtimev1pb.SaveStateRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.saves) == 0 {
		return nil
	}
	return f.saves[len(f.saves)-1]
}

// forwardTo makes the fake forward invocations to an App the way daprd's gRPC
// app channel does: incoming metadata passed on, context.Background() (no
// deadline), the app token added when set.
func forwardTo(t *testing.T, f *fakeDaprd, app *App, appToken string) {
	t.Helper()
	conn, err := grpc.NewClient(app.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	cb := runtimev1pb.NewAppCallbackClient(conn)
	f.invoke = func(ctx context.Context, in *runtimev1pb.InvokeServiceRequest) (*commonv1pb.InvokeResponse, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		out := metadata.MD{}
		for k, v := range md {
			if k == mdPlayer || k == mdRequestID || k == mdDeadline {
				out[k] = v
			}
		}
		if appToken != "" {
			out.Set(tokenHeader, appToken)
		}
		actx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), out), 10*time.Second)
		defer cancel()
		return cb.OnInvoke(actx, in.GetMessage())
	}
}

func (f *fakeDaprd) GetSecret(_ context.Context, in *runtimev1pb.GetSecretRequest) (*runtimev1pb.GetSecretResponse, error) {
	switch in.GetKey() {
	case "TICKET_KEY":
		return &runtimev1pb.GetSecretResponse{Data: map[string]string{"TICKET_KEY": "s3cret"}}, nil
	case "UNSET":
		return &runtimev1pb.GetSecretResponse{Data: map[string]string{"UNSET": ""}}, nil
	}
	return nil, status.Error(codes.PermissionDenied, "access denied by policy to get "+in.GetKey())
}
