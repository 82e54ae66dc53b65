package directory

import (
	"context"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh"
)

// MemoryScenes is the in-process scene directory: which scene host owns
// which scene, as claims with a lease (embedded mode; redisdir.Scenes is the
// cluster's). The zero value is not usable; call NewMemoryScenes.
type MemoryScenes struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]sceneClaim
}

type sceneClaim struct {
	host  string
	until time.Time
}

// NewMemoryScenes returns an empty scene directory.
func NewMemoryScenes() *MemoryScenes {
	return &MemoryScenes{now: time.Now, m: map[string]sceneClaim{}}
}

// Claim takes scene for host (or renews host's claim) for ttl, unless
// another host holds an unexpired claim; it returns the owner after the call.
func (s *MemoryScenes) Claim(_ context.Context, scene, host string, ttl time.Duration) (string, error) {
	if scene == "" || host == "" || ttl <= 0 {
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "scene directory: claim needs a scene, a host and a ttl")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	c, ok := s.m[scene]
	if ok && c.host != host && now.Before(c.until) {
		return c.host, nil
	}
	s.m[scene] = sceneClaim{host: host, until: now.Add(ttl)}
	return host, nil
}

// Release drops host's claim on scene (another host's is left alone).
func (s *MemoryScenes) Release(_ context.Context, scene, host string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[scene].host == host {
		delete(s.m, scene)
	}
	return nil
}

// Owner returns the host owning scene, or NOT_FOUND when none does.
func (s *MemoryScenes) Owner(_ context.Context, scene string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[scene]
	if !ok || !s.now().Before(c.until) {
		return "", gamemesh.Errorf(gamemesh.CodeNotFound, "no host owns scene %s", scene)
	}
	return c.host, nil
}

// SceneOwners says which host owns a scene (MemoryScenes, redisdir.Scenes).
type SceneOwners interface {
	Owner(ctx context.Context, scene string) (string, error)
}

// MemberLister lists live members (MemoryRoster, redisdir.Roster).
type MemberLister interface {
	Members(ctx context.Context, kind string) ([]Member, error)
}

// SceneLocator finds the host of a scene and its link address: the owner
// from the scene directory, the address from the roster. Gates use it.
type SceneLocator struct {
	Scenes SceneOwners
	Roster MemberLister
}

// Locate returns the id and link address of the live host owning scene:
// NOT_FOUND when no host owns it, UNAVAILABLE when its owner is not in the
// roster (it died; its claim lapses soon).
func (l SceneLocator) Locate(ctx context.Context, scene string) (host, addr string, err error) {
	host, err = l.Scenes.Owner(ctx, scene)
	if err != nil {
		return "", "", err
	}
	addr, err = l.Addr(ctx, host)
	return host, addr, err
}

// Addr returns the link address of the live scene host id.
func (l SceneLocator) Addr(ctx context.Context, id string) (string, error) {
	ms, err := l.Roster.Members(ctx, KindScene)
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.ID == id && m.Addr != "" {
			return m.Addr, nil
		}
	}
	return "", gamemesh.Errorf(gamemesh.CodeUnavailable, "scene host %s is not in the roster", id)
}
