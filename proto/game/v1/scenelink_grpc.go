package gamev1

// The gRPC binding of service SceneLink, written by hand (one bidirectional
// method) in the shape protoc-gen-go-grpc generates, so that no extra code
// generator is needed.

import (
	"context"

	"google.golang.org/grpc"
)

// SceneLinkLinkMethod is the full gRPC method name of SceneLink.Link.
const SceneLinkLinkMethod = "/game.v1.SceneLink/Link"

// SceneLinkServer is the host side of SceneLink.
type SceneLinkServer interface {
	Link(stream SceneLink_LinkServer) error
}

// SceneLink_LinkServer is the host's end of one link stream.
type SceneLink_LinkServer interface {
	Send(*LinkDown) error
	Recv() (*LinkUp, error)
	grpc.ServerStream
}

// SceneLink_LinkClient is the gate's end of one link stream.
type SceneLink_LinkClient interface {
	Send(*LinkUp) error
	Recv() (*LinkDown, error)
	grpc.ClientStream
}

// SceneLinkServiceDesc describes SceneLink for grpc.Server.RegisterService.
var SceneLinkServiceDesc = grpc.ServiceDesc{
	ServiceName: "game.v1.SceneLink",
	HandlerType: (*SceneLinkServer)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "Link",
		Handler:       sceneLinkHandler,
		ServerStreams: true,
		ClientStreams: true,
	}},
	Metadata: "game/v1/scenelink.proto",
}

// RegisterSceneLinkServer registers srv on s.
func RegisterSceneLinkServer(s grpc.ServiceRegistrar, srv SceneLinkServer) {
	s.RegisterService(&SceneLinkServiceDesc, srv)
}

func sceneLinkHandler(srv any, stream grpc.ServerStream) error {
	return srv.(SceneLinkServer).Link(&sceneLinkServerStream{stream})
}

type sceneLinkServerStream struct{ grpc.ServerStream }

func (x *sceneLinkServerStream) Send(m *LinkDown) error { return x.ServerStream.SendMsg(m) }

func (x *sceneLinkServerStream) Recv() (*LinkUp, error) {
	m := new(LinkUp)
	if err := x.ServerStream.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}

// OpenSceneLink opens a link stream on cc.
func OpenSceneLink(ctx context.Context, cc grpc.ClientConnInterface, opts ...grpc.CallOption) (SceneLink_LinkClient, error) {
	stream, err := cc.NewStream(ctx, &SceneLinkServiceDesc.Streams[0], SceneLinkLinkMethod, opts...)
	if err != nil {
		return nil, err
	}
	return &sceneLinkClientStream{stream}, nil
}

type sceneLinkClientStream struct{ grpc.ClientStream }

func (x *sceneLinkClientStream) Send(m *LinkUp) error { return x.ClientStream.SendMsg(m) }

func (x *sceneLinkClientStream) Recv() (*LinkDown, error) {
	m := new(LinkDown)
	if err := x.ClientStream.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}
