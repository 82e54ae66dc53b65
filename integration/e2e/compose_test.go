package e2e

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gamemesh/gamemesh/internal/system"
)

// Ports every sidecar listens on inside its container; the name resolution
// template of sidecar-config/compose/ names the service "<app id>-dapr" and
// the internal port.
const (
	sidecarGRPCPort     = "50001"
	sidecarHTTPPort     = "3500"
	sidecarInternalPort = "50002"
	appChannelPort      = "50051"
	nameTemplate        = "{{.ID}}-dapr:{{.Port}}"
)

// The compose file users run: what the stack relies on, checked without
// Docker so that a change that breaks it fails every `go test ./...`.
func TestComposeFile(t *testing.T) {
	f := parseCompose(t, readRepoFile(t, "docker-compose.yml"))
	checkComposeRules(t, f, loadRepoFiles(t))
}

// A compose file that breaks each rule is refused: the checks can fail.
func TestComposeFileChecksCatchBreakage(t *testing.T) {
	good := readRepoFile(t, "docker-compose.yml")
	repo := loadRepoFiles(t)
	breakages := []struct {
		name  string
		apply func(*composeFile)
	}{
		{"unpinned redis", func(f *composeFile) { s := f.Services["redis"]; s.Image = "redis:latest"; f.Services["redis"] = s }},
		{"daprd version not a variable", func(f *composeFile) {
			s := f.Services["mail-dapr"]
			s.Image = "daprio/daprd:1.14.0"
			f.Services["mail-dapr"] = s
		}},
		{"network_mode sidecar", func(f *composeFile) {
			s := f.Services["mail-dapr"]
			s.NetworkMode = "service:mail"
			f.Services["mail-dapr"] = s
		}},
		{"sidecar pointing at another app", func(f *composeFile) {
			s := f.Services["mail-dapr"]
			s.Command = replaceFlag(s.Command, "--app-channel-address", "guild")
			f.Services["mail-dapr"] = s
		}},
		{"internal port off the template", func(f *composeFile) {
			s := f.Services["guild-dapr"]
			s.Command = replaceFlag(s.Command, "--dapr-internal-grpc-port", "50003")
			f.Services["guild-dapr"] = s
		}},
		{"self-hosted Configuration (mDNS)", func(f *composeFile) {
			s := f.Services["login-dapr"]
			s.Command = replaceFlag(s.Command, "--config", "/sidecar-config/config.yaml")
			f.Services["login-dapr"] = s
		}},
		{"published function port", func(f *composeFile) { s := f.Services["mail"]; s.Ports = []any{"50051:50051"}; f.Services["mail"] = s }},
		{"published redis", func(f *composeFile) { s := f.Services["redis"]; s.Ports = []any{"6379:6379"}; f.Services["redis"] = s }},
		{"no API token on a sidecar", func(f *composeFile) {
			s := f.Services["player-dapr"]
			s.Environment = without(s.Environment, "DAPR_API_TOKEN")
			f.Services["player-dapr"] = s
		}},
		{"no app token on an app", func(f *composeFile) {
			s := f.Services["guild"]
			s.Environment = without(s.Environment, "APP_API_TOKEN")
			f.Services["guild"] = s
		}},
		{"ticket key on a sidecar that needs none", func(f *composeFile) {
			s := f.Services["mail-dapr"]
			s.Environment = with(s.Environment, "GAMEMESH_SECRET_TICKET_KEY", "x")
			f.Services["mail-dapr"] = s
		}},
		{"no health check", func(f *composeFile) {
			s := f.Services["achievement"]
			s.Healthcheck = nil
			f.Services["achievement"] = s
		}},
		{"health check ignoring the sidecar", func(f *composeFile) {
			s := f.Services["mail"]
			s.Healthcheck = &composeHealthcheck{Test: []string{"CMD", "/usr/local/bin/gamemesh", "probe", "http://127.0.0.1:7180/readyz"}}
			f.Services["mail"] = s
		}},
		{"function app missing", func(f *composeFile) { delete(f.Services, "guild"); delete(f.Services, "guild-dapr") }},
		{"route to an app id with no sidecar", func(f *composeFile) {
			s := f.Services["gate"]
			s.Command = replaceFlag(s.Command, "--routes", "login=login,mail=functions")
			f.Services["gate"] = s
		}},
		{"redis without its volume", func(f *composeFile) { s := f.Services["redis"]; s.Volumes = s.Volumes[:1]; f.Services["redis"] = s }},
		{"sidecar started before redis is healthy", func(f *composeFile) {
			s := f.Services["login-dapr"]
			s.DependsOn = nil
			f.Services["login-dapr"] = s
		}},
	}
	for _, b := range breakages {
		f := parseCompose(t, good)
		b.apply(&f)
		rt := &recordingT{}
		checkComposeRules(rt, f, repo)
		if len(rt.errors) == 0 {
			t.Errorf("%s: the compose checks accepted it", b.name)
		}
	}
}

// repoFiles are the files besides the compose file that the rules read.
type repoFiles struct {
	provision, redisConf string
}

func loadRepoFiles(t testing.TB) repoFiles {
	return repoFiles{
		provision: string(readRepoFile(t, "deploy/provision.sh")),
		redisConf: string(readRepoFile(t, "deploy/redis/redis.conf")),
	}
}

// checkComposeRules reports on t every rule f breaks.
func checkComposeRules(t errorer, f composeFile, repo repoFiles) {
	m := regexp.MustCompile(`DAPR_VERSION="\$\{DAPR_VERSION:-([0-9.]+)\}"`).FindStringSubmatch(repo.provision)
	if m == nil {
		t.Errorf("deploy/provision.sh: no default DAPR_VERSION")
		return
	}
	wantDaprd := "daprio/daprd:${DAPR_VERSION:-" + m[1] + "}"
	pinned := regexp.MustCompile(`^[a-z0-9./-]+:(\$\{[A-Z_]+:-)?[0-9]+(\.[0-9]+)+(-[a-z0-9.]+)?\}?$`)

	apps := map[string]string{} // Dapr app id -> app service
	for _, name := range sortedKeys(f.Services) {
		s := f.Services[name]
		if !pinned.MatchString(s.Image) {
			t.Errorf("service %s: image %q is not pinned to a version", name, s.Image)
		}
		if s.NetworkMode != "" {
			t.Errorf("service %s: network_mode %q (sidecars lose their app on restart, dapr #5718; use --app-channel-address)", name, s.NetworkMode)
		}
		if len(s.Ports) > 0 && name != "gate" {
			t.Errorf("service %s publishes ports %v: only the gate's client ports leave the compose network", name, s.Ports)
		}
		if s.longRunning() && s.Restart == "" {
			t.Errorf("service %s: no restart policy", name)
		}
		if !s.isDaprd() {
			continue
		}
		if s.Image != wantDaprd {
			t.Errorf("service %s: image %q, want %q (the daprd version is a variable; its default is deploy/provision.sh's)", name, s.Image, wantDaprd)
		}
		id, _ := s.flag("--app-id")
		if name != id+"-dapr" {
			t.Errorf("service %s runs app id %q: the name resolution template %q needs the service named %q", name, id, nameTemplate, id+"-dapr")
		}
		app, _ := s.flag("--app-channel-address")
		apps[id] = app
		wantFlags := map[string]string{
			"--mode": "standalone", "--app-port": appChannelPort, "--app-protocol": "grpc",
			"--dapr-grpc-port": sidecarGRPCPort, "--dapr-http-port": sidecarHTTPPort, "--dapr-internal-grpc-port": sidecarInternalPort,
		}
		for _, flag := range sortedKeys(wantFlags) {
			if v, n := s.flag(flag); v != wantFlags[flag] || n != 1 {
				t.Errorf("service %s: %s %q (given %d times), want %q once", name, flag, v, n, wantFlags[flag])
			}
		}
		wantConfig := "/sidecar-config/compose/config.yaml"
		if id == "gate" {
			wantConfig = "/sidecar-config/compose/gate.yaml"
		}
		if v, _ := s.flag("--config"); v != wantConfig {
			t.Errorf("service %s: --config %q, want %q (DNS name resolution)", name, v, wantConfig)
		}
		if got := s.flagValues("--resources-path"); !slices.Equal(got, []string{"/components", "/sidecar-config/resiliency"}) {
			t.Errorf("service %s: --resources-path %v, want /components and /sidecar-config/resiliency", name, got)
		}
		for _, v := range []string{"./components:/components:ro", "./sidecar-config:/sidecar-config:ro"} {
			if !slices.Contains(s.Volumes, any(v)) {
				t.Errorf("service %s: volume %q missing", name, v)
			}
		}
		if s.DependsOn["redis"].Condition != "service_healthy" {
			t.Errorf("service %s: does not wait for redis to be healthy (daprd exits when a component cannot connect)", name)
		}
		checkTokens(t, name, s)
		_, hasKey := s.Environment["GAMEMESH_SECRET_TICKET_KEY"]
		if needs := id == "login" || id == "gate"; hasKey != needs {
			t.Errorf("service %s: ticket key in its environment = %v, want %v (only login and gate sign or verify tickets)", name, hasKey, needs)
		}
		if s.Environment["REDIS_HOST"] != "redis:6379" {
			t.Errorf("service %s: REDIS_HOST %q, want redis:6379 (components read it through envRef)", name, s.Environment["REDIS_HOST"])
		}
	}

	// Every function app gamemesh ships runs under its own app id, and the gate.
	for _, want := range append(system.FunctionApps(), "gate") {
		if _, ok := apps[want]; !ok {
			t.Errorf("no sidecar service runs app id %q", want)
		}
	}
	for id, appSvc := range apps {
		s, ok := f.Services[appSvc]
		if !ok {
			t.Errorf("sidecar %s-dapr: --app-channel-address %q is no service", id, appSvc)
			continue
		}
		if !s.isGamemesh() {
			t.Errorf("service %s (app %s): image %q, want the gamemesh image", appSvc, id, s.Image)
		}
		if len(s.Command) == 0 {
			t.Errorf("service %s: no command", appSvc)
			continue
		}
		switch s.Command[0] {
		case "gate":
		case "fn":
			if only, _ := s.flag("--only"); only != id {
				t.Errorf("service %s: --only %q, want %q (its sidecar's app id: keys are prefixed with it)", appSvc, only, id)
			}
		default:
			t.Errorf("service %s: command %q, want gate or fn", appSvc, s.Command[0])
		}
		if v, _ := s.flag("--app-addr"); v != "0.0.0.0:"+appChannelPort {
			t.Errorf("service %s: --app-addr %q, want 0.0.0.0:%s (its sidecar is another container)", appSvc, v, appChannelPort)
		}
		routes, _ := s.flag("--routes")
		r, err := system.ParseRoutes(routes, "functions")
		if err != nil {
			t.Errorf("service %s: --routes: %v", appSvc, err)
		}
		for app, target := range r {
			if _, ok := apps[target]; !ok {
				t.Errorf("service %s: %s is routed to app id %q, which no sidecar runs", appSvc, app, target)
			}
		}
		if got, want := s.Environment["DAPR_GRPC_ENDPOINT"], id+"-dapr:"+sidecarGRPCPort; got != want {
			t.Errorf("service %s: DAPR_GRPC_ENDPOINT %q, want %q", appSvc, got, want)
		}
		if s.Environment["REDIS_HOST"] != "redis:6379" {
			t.Errorf("service %s: REDIS_HOST %q, want redis:6379 (the roster uses go-redis)", appSvc, s.Environment["REDIS_HOST"])
		}
		checkTokens(t, appSvc, s)
		sidecarHealth := fmt.Sprintf("http://%s-dapr:%s/v1.0/healthz", id, sidecarHTTPPort)
		if s.Healthcheck == nil || !slices.Contains(s.Healthcheck.Test, sidecarHealth) || len(s.Healthcheck.Test) < 5 {
			t.Errorf("service %s: its health check must probe itself and its sidecar (%s), got %+v", appSvc, sidecarHealth, s.Healthcheck)
		}
		if s.DependsOn[id+"-dapr"].Condition != "service_started" || s.DependsOn["redis"].Condition != "service_healthy" {
			t.Errorf("service %s: depends_on %v, want its sidecar started and redis healthy", appSvc, s.DependsOn)
		}
	}
	if g := f.Services["gate"]; len(g.Ports) != 2 {
		t.Errorf("gate: ports %v, want the TCP and HTTP client ports", g.Ports)
	}

	r := f.Services["redis"]
	if !slices.Contains(r.Volumes, any("./deploy/redis/redis.conf:/usr/local/etc/redis/redis.conf:ro")) ||
		!slices.Contains(r.Volumes, any("redis-data:/data")) || f.Volumes["redis-data"] == nil {
		t.Errorf("redis: volumes %v, want deploy/redis/redis.conf mounted and the redis-data volume at /data", r.Volumes)
	}
	if len(r.Command) < 2 || r.Command[0] != "redis-server" || r.Command[1] != "/usr/local/etc/redis/redis.conf" {
		t.Errorf("redis: command %v, want redis-server with the mounted redis.conf", r.Command)
	}
	if r.Healthcheck == nil {
		t.Errorf("redis: no health check")
	}
	for _, line := range []string{"appendonly yes", "appendfsync everysec", "notify-keyspace-events KEA"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`).MatchString(repo.redisConf) {
			t.Errorf("deploy/redis/redis.conf lacks %q", line)
		}
	}
}

// checkTokens: both Dapr tokens set, the same on every app and sidecar.
func checkTokens(t errorer, name string, s composeService) {
	want := map[string]string{
		"DAPR_API_TOKEN": "${DAPR_API_TOKEN:-",
		"APP_API_TOKEN":  "${APP_API_TOKEN:-",
	}
	for k, prefix := range want {
		v := s.Environment[k]
		if v == "" || (strings.HasPrefix(v, "${") && !strings.HasPrefix(v, prefix)) {
			t.Errorf("service %s: %s = %q, want it set (from $%s)", name, k, v, k)
		}
	}
}

// The compose Dapr Configurations are the self-hosted ones plus DNS name
// resolution, nothing else: a change to one must be made to both.
func TestComposeSidecarConfigsMatch(t *testing.T) {
	for _, name := range []string{"config.yaml", "gate.yaml"} {
		var base, comp map[string]any
		if err := yaml.Unmarshal(readRepoFile(t, "sidecar-config/"+name), &base); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(readRepoFile(t, "sidecar-config/compose/"+name), &comp); err != nil {
			t.Fatal(err)
		}
		spec, _ := comp["spec"].(map[string]any)
		nr, _ := spec["nameResolution"].(map[string]any)
		cfg, _ := nr["configuration"].(map[string]any)
		if nr["component"] != "kubernetes" || cfg["template"] != nameTemplate {
			t.Errorf("sidecar-config/compose/%s: nameResolution %v, want the kubernetes resolver with template %q", name, nr, nameTemplate)
		}
		delete(spec, "nameResolution")
		if !reflect.DeepEqual(base, comp) {
			t.Errorf("sidecar-config/compose/%s differs from sidecar-config/%s beyond nameResolution:\n%v\n%v", name, name, comp, base)
		}
	}
}

// errorer is what checkComposeRules reports to.
type errorer interface {
	Errorf(format string, args ...any)
}

// recordingT records errors instead of failing (to test the checks).
type recordingT struct {
	errors []string
}

func (r *recordingT) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func replaceFlag(cmd []string, flag, value string) []string {
	out := slices.Clone(cmd)
	for i := range out {
		if out[i] == flag && i+1 < len(out) {
			out[i+1] = value
		}
	}
	return out
}

func without(env map[string]string, key string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func with(env map[string]string, key, value string) map[string]string {
	out := without(env, key)
	out[key] = value
	return out
}
