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

// publishing are the services whose ports leave the compose network: the
// gate's client ports and the operators' IDIP port.
var publishing = []string{"gate", "idip"}

// The compose file users run: what the stack relies on, checked without
// Docker so that a change that breaks it fails every `go test ./...`.
func TestComposeFile(t *testing.T) {
	f := parseCompose(t, readRepoFile(t, "docker-compose.yml"))
	checkComposeRules(t, f, loadRepoFiles(t))
}

// A compose file that breaks each rule is refused, by that rule: the checks
// can fail.
func TestComposeFileChecksCatchBreakage(t *testing.T) {
	good := readRepoFile(t, "docker-compose.yml")
	svc := func(name string, change func(*composeService)) func(*composeFile, *repoFiles) {
		return func(f *composeFile, _ *repoFiles) {
			s, ok := f.Services[name]
			if !ok {
				t.Fatalf("the compose file has no service %s to break", name)
			}
			change(&s)
			f.Services[name] = s
		}
	}
	breakages := []struct {
		name, want string
		apply      func(*composeFile, *repoFiles)
	}{
		{"unpinned redis", "is not pinned", svc("redis", func(s *composeService) { s.Image = "redis:latest" })},
		{"daprd version not a variable", "the daprd version is a variable", svc("core-dapr", func(s *composeService) { s.Image = "daprio/daprd:1.14.0" })},
		{"network_mode sidecar", "dapr #5718", svc("core-dapr", func(s *composeService) { s.NetworkMode = "service:core" })},
		{"sidecar pointing at another app", "served by both", svc("guild-dapr", func(s *composeService) {
			s.Command = replaceFlag(s.Command, "--app-channel-address", "core")
		})},
		{"internal port off the template", "--dapr-internal-grpc-port", svc("guild-dapr", func(s *composeService) {
			s.Command = replaceFlag(s.Command, "--dapr-internal-grpc-port", "50003")
		})},
		{"sidecar service not named after its app id", "needs the service named", func(f *composeFile, _ *repoFiles) {
			f.Services["guild-sidecar"] = f.Services["guild-dapr"]
			delete(f.Services, "guild-dapr")
		}},
		{"self-hosted Configuration (mDNS)", "DNS name resolution", svc("core-dapr", func(s *composeService) {
			s.Command = replaceFlag(s.Command, "--config", "/sidecar-config/config.yaml")
		})},
		{"published function port", "only the gate's client ports", svc("core", func(s *composeService) { s.Ports = []any{"50051:50051"} })},
		{"published redis", "only the gate's client ports", svc("redis", func(s *composeService) { s.Ports = []any{"6379:6379"} })},
		{"no API token on a sidecar", "DAPR_API_TOKEN", svc("guild-dapr", func(s *composeService) { s.Environment = without(s.Environment, "DAPR_API_TOKEN") })},
		{"no app token on an app", "APP_API_TOKEN", svc("guild", func(s *composeService) { s.Environment = without(s.Environment, "APP_API_TOKEN") })},
		{"ticket key on a sidecar that needs none", "ticket key", svc("guild-dapr", func(s *composeService) {
			s.Environment = with(s.Environment, "GAMEMESH_SECRET_TICKET_KEY", "x")
		})},
		{"no ticket key where login runs", "ticket key", svc("core-dapr", func(s *composeService) {
			s.Environment = without(s.Environment, "GAMEMESH_SECRET_TICKET_KEY")
		})},
		{"no health check", "health check", svc("achievement", func(s *composeService) { s.Healthcheck = nil })},
		{"health check ignoring the sidecar", "health check", svc("core", func(s *composeService) {
			s.Healthcheck = &composeHealthcheck{Test: []string{"CMD", "/usr/local/bin/gamemesh", "probe", "http://127.0.0.1:7180/readyz"}}
		})},
		{"function app missing", "guild is served by no service", func(f *composeFile, _ *repoFiles) {
			delete(f.Services, "guild")
			delete(f.Services, "guild-dapr")
		}},
		{"function app served twice", "served by both", svc("guild", func(s *composeService) {
			s.Command = replaceFlag(s.Command, "--only", "guild,mail")
		})},
		{"route to the wrong app id", "routes mail to app id", svc("gate", func(s *composeService) {
			s.Command = replaceFlag(s.Command, "--routes", "mail=functions")
		})},
		{"route of a function to the wrong app id", "routes guild to app id", svc("core", func(s *composeService) {
			s.Command = replaceFlag(s.Command, "--routes", "login=core,mail=core,player=core,guild=core,achievement=achievement")
		})},
		{"app id outside a component's scopes", "not in its scopes", func(_ *composeFile, r *repoFiles) {
			r.scopes["statestore"] = slices.DeleteFunc(slices.Clone(r.scopes["statestore"]), func(id string) bool { return id == "core" })
		}},
		{"app id without resiliency", "resiliency", func(_ *composeFile, r *repoFiles) {
			r.resiliency = strings.ReplaceAll(r.resiliency, "      achievement:\n", "      achievements:\n")
		}},
		{"redis without its volume", "redis-data volume", svc("redis", func(s *composeService) { s.Volumes = s.Volumes[:1] })},
		{"redis without AOF", "appendonly yes", func(_ *composeFile, r *repoFiles) {
			r.redisConf = strings.ReplaceAll(r.redisConf, "appendonly yes", "appendonly no")
		}},
		{"published scene link", "only the gate's client ports", svc("scene", func(s *composeService) { s.Ports = []any{"7300:7300"} })},
		{"scene link advertised on an address gates cannot reach", "--advertise", svc("scene", func(s *composeService) {
			s.Command = replaceFlag(s.Command, "--advertise", "127.0.0.1:7300")
		})},
		{"a default IDIP admin token", "no default admin token", svc("idip-dapr", func(s *composeService) {
			s.Environment = with(s.Environment, "GAMEMESH_SECRET_IDIP_ADMIN_TOKEN", "${GAMEMESH_IDIP_TOKEN:-admin-token-change-me}")
		})},
		{"generated IDIP token off any volume", "--idip-token-file", svc("idip", func(s *composeService) { s.Volumes = nil })},
		{"IDIP sidecar with the functions' Configuration", "DNS name resolution", svc("idip-dapr", func(s *composeService) {
			s.Command = replaceFlag(s.Command, "--config", "/sidecar-config/compose/config.yaml")
		})},
		{"no IDIP", "app id \"idip\"", func(f *composeFile, _ *repoFiles) {
			delete(f.Services, "idip")
			delete(f.Services, "idip-dapr")
		}},
		{"no scene host", "app id \"scene\"", func(f *composeFile, _ *repoFiles) {
			delete(f.Services, "scene")
			delete(f.Services, "scene-dapr")
		}},
		{"sidecar started before redis is healthy", "does not wait for redis", svc("core-dapr", func(s *composeService) { s.DependsOn = nil })},
	}
	for _, b := range breakages {
		f := parseCompose(t, good)
		repo := loadRepoFiles(t)
		b.apply(&f, &repo)
		rt := &recordingT{}
		checkComposeRules(rt, f, repo)
		if !slices.ContainsFunc(rt.errors, func(e string) bool { return strings.Contains(e, b.want) }) {
			t.Errorf("%s: no error says %q; got %q", b.name, b.want, rt.errors)
		}
	}
}

// repoFiles are the files besides the compose file that the rules read.
type repoFiles struct {
	provision, redisConf, resiliency string
	scopes                           map[string][]string // app ids allowed per component
}

func loadRepoFiles(t testing.TB) repoFiles {
	r := repoFiles{
		provision:  string(readRepoFile(t, "deploy/provision.sh")),
		redisConf:  string(readRepoFile(t, "deploy/redis/redis.conf")),
		resiliency: string(readRepoFile(t, "sidecar-config/resiliency/resiliency.yaml")),
		scopes:     map[string][]string{},
	}
	for _, c := range []string{"configstore", "pubsub", "secretstore", "sharedstate", "statestore"} {
		var comp struct {
			Metadata struct{ Name string }
			Scopes   []string
		}
		if err := yaml.Unmarshal(readRepoFile(t, "components/"+c+".yaml"), &comp); err != nil {
			t.Fatalf("components/%s.yaml: %v", c, err)
		}
		if comp.Metadata.Name != c {
			t.Fatalf("components/%s.yaml names component %q", c, comp.Metadata.Name)
		}
		r.scopes[c] = comp.Scopes
	}
	return r
}

// checkScope: app id may use the component (its scopes name it).
func checkScope(t errorer, scopes []string, component, id string) {
	if !slices.Contains(scopes, id) {
		t.Errorf("components/%s.yaml: app id %q is not in its scopes %v", component, id, scopes)
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

	sidecars := map[string]sidecar{} // by Dapr app id
	for _, name := range sortedKeys(f.Services) {
		s := f.Services[name]
		if !pinned.MatchString(s.Image) {
			t.Errorf("service %s: image %q is not pinned to a version", name, s.Image)
		}
		if s.NetworkMode != "" {
			t.Errorf("service %s: network_mode %q (sidecars lose their app on restart, dapr #5718; use --app-channel-address)", name, s.NetworkMode)
		}
		if len(s.Ports) > 0 && !slices.Contains(publishing, name) {
			t.Errorf("service %s publishes ports %v: only the gate's client ports and IDIP's leave the compose network", name, s.Ports)
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
		_, hasKey := s.Environment["GAMEMESH_SECRET_TICKET_KEY"]
		sidecars[id] = sidecar{service: name, app: app, ticketKey: hasKey}
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
		if id == "gate" || id == "idip" {
			wantConfig = "/sidecar-config/compose/" + id + ".yaml"
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
		if s.Environment["REDIS_HOST"] != "redis:6379" {
			t.Errorf("service %s: REDIS_HOST %q, want redis:6379 (components read it through envRef)", name, s.Environment["REDIS_HOST"])
		}
	}
	if _, ok := sidecars["gate"]; !ok {
		t.Errorf("no sidecar service runs app id \"gate\"")
	}

	// Which app id serves each function app: exactly one.
	served := map[string]string{}
	for _, id := range sortedKeys(sidecars) {
		sc := sidecars[id]
		s, ok := f.Services[sc.app]
		if !ok {
			t.Errorf("sidecar %s: --app-channel-address %q is no service", sc.service, sc.app)
			continue
		}
		if !s.isGamemesh() || len(s.Command) == 0 {
			t.Errorf("service %s (app %s): image %q command %v, want the gamemesh image running gate or fn", sc.app, id, s.Image, s.Command)
			continue
		}
		var fns []string
		switch s.Command[0] {
		case "gate":
			if id != "gate" {
				t.Errorf("service %s runs a gate under app id %q, want \"gate\" (gate.yaml is its Configuration)", sc.app, id)
			}
		case "scene":
			if id != "scene" {
				t.Errorf("service %s runs a scene host under app id %q, want \"scene\"", sc.app, id)
			}
			if adv, _ := s.flag("--advertise"); adv != sc.app+":7300" {
				t.Errorf("service %s: --advertise %q, want %s:7300 (gates dial the link address the scene directory holds)", sc.app, adv, sc.app)
			}
		case "fn":
			only, _ := s.flag("--only")
			fns = strings.Split(only, ",")
			if slices.Contains(fns, "idip") {
				checkIDIP(t, sc, s, f.Services[sc.service], repo)
			}
			for _, fn := range fns {
				if prev, dup := served[fn]; dup {
					t.Errorf("function app %s is served by both app ids %q and %q", fn, prev, id)
				}
				served[fn] = id
			}
			checkScope(t, repo.scopes["statestore"], "statestore", id)
		default:
			t.Errorf("service %s: command %q, want gate or fn", sc.app, s.Command[0])
		}
		for _, c := range []string{"configstore", "pubsub", "sharedstate"} {
			checkScope(t, repo.scopes[c], c, id)
		}
		if needs := id == "gate" || slices.Contains(fns, "login"); sc.ticketKey != needs {
			t.Errorf("sidecar %s: ticket key in its environment = %v, want %v (only the apps that sign or verify tickets, login and gate)", sc.service, sc.ticketKey, needs)
		}
		if sc.ticketKey {
			checkScope(t, repo.scopes["secretstore"], "secretstore", id)
		}
		if slices.ContainsFunc(fns, func(fn string) bool { return slices.Contains(system.FunctionApps(), fn) }) && !regexp.MustCompile(`(?m)^      `+regexp.QuoteMeta(id)+`:\n        timeout: function\n        retry: functionRetry\n        circuitBreaker: functionBreaker$`).MatchString(repo.resiliency) {
			t.Errorf("sidecar-config/resiliency: no function timeout, retry and circuit breaker for app id %q", id)
		}
		if v, _ := s.flag("--app-addr"); v != "0.0.0.0:"+appChannelPort {
			t.Errorf("service %s: --app-addr %q, want 0.0.0.0:%s (its sidecar is another container)", sc.app, v, appChannelPort)
		}
		if got, want := s.Environment["DAPR_GRPC_ENDPOINT"], id+"-dapr:"+sidecarGRPCPort; got != want {
			t.Errorf("service %s: DAPR_GRPC_ENDPOINT %q, want %q", sc.app, got, want)
		}
		if s.Environment["REDIS_HOST"] != "redis:6379" {
			t.Errorf("service %s: REDIS_HOST %q, want redis:6379 (the roster uses go-redis)", sc.app, s.Environment["REDIS_HOST"])
		}
		checkTokens(t, sc.app, s)
		sidecarHealth := fmt.Sprintf("http://%s-dapr:%s/v1.0/healthz", id, sidecarHTTPPort)
		if s.Healthcheck == nil || !slices.Contains(s.Healthcheck.Test, sidecarHealth) || len(s.Healthcheck.Test) < 5 {
			t.Errorf("service %s: its health check must probe itself and its sidecar (%s), got %+v", sc.app, sidecarHealth, s.Healthcheck)
		}
		if s.DependsOn[id+"-dapr"].Condition != "service_started" || s.DependsOn["redis"].Condition != "service_healthy" {
			t.Errorf("service %s: depends_on %v, want its sidecar started and redis healthy", sc.app, s.DependsOn)
		}
	}
	for _, fn := range system.FunctionApps() {
		if _, ok := served[fn]; !ok {
			t.Errorf("function app %s is served by no service", fn)
		}
	}
	// Every gamemesh process routes each function app to the app id that serves it.
	for _, name := range sortedKeys(f.Services) {
		s := f.Services[name]
		if !s.isGamemesh() || !s.longRunning() {
			continue
		}
		routes, _ := s.flag("--routes")
		r, err := system.ParseRoutes(routes, "functions")
		if err != nil {
			t.Errorf("service %s: --routes: %v", name, err)
			continue
		}
		for _, fn := range sortedKeys(served) {
			if !slices.Contains(system.FunctionApps(), fn) {
				continue // IDIP is called by operators, not by the mesh
			}
			if r[fn] != served[fn] {
				t.Errorf("service %s routes %s to app id %q, but %q serves it", name, fn, r[fn], served[fn])
			}
		}
	}
	if g := f.Services["gate"]; len(g.Ports) != 2 {
		t.Errorf("gate: ports %v, want the TCP and HTTP client ports", g.Ports)
	}
	if _, ok := sidecars["idip"]; !ok {
		t.Errorf("no sidecar service runs app id \"idip\" (the operators' API)")
	}
	if _, ok := sidecars["scene"]; !ok {
		t.Errorf("no sidecar service runs app id \"scene\" (a scene host)")
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

// sidecar is a daprd service of the compose file.
type sidecar struct {
	service, app string // the sidecar's service, its app's service
	ticketKey    bool
}

// checkIDIP: the IDIP app publishes its one port, and its admin token is
// never a default: the secret comes from the operator's GAMEMESH_IDIP_TOKEN
// or, unset, the app generates one into its volume (--idip-token-file).
func checkIDIP(t errorer, sc sidecar, app, side composeService, repo repoFiles) {
	if addr, _ := app.flag("--idip-addr"); addr != "0.0.0.0:7102" || len(app.Ports) != 1 {
		t.Errorf("service %s: --idip-addr %q ports %v, want 0.0.0.0:7102 published once", sc.app, addr, app.Ports)
	}
	if v, ok := side.Environment["GAMEMESH_SECRET_IDIP_ADMIN_TOKEN"]; !ok || v != "${GAMEMESH_IDIP_TOKEN:-}" {
		t.Errorf("sidecar %s: GAMEMESH_SECRET_IDIP_ADMIN_TOKEN = %q, want ${GAMEMESH_IDIP_TOKEN:-} (no default admin token)", sc.service, v)
	}
	file, _ := app.flag("--idip-token-file")
	if !strings.HasPrefix(file, "/data/") || !slices.ContainsFunc(app.Volumes, func(v any) bool { s, _ := v.(string); return strings.HasSuffix(s, ":/data") }) {
		t.Errorf("service %s: --idip-token-file %q, want a file under a /data volume (a generated token survives restarts)", sc.app, file)
	}
	checkScope(t, repo.scopes["secretstore"], "secretstore", "idip")
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
	for _, name := range []string{"config.yaml", "gate.yaml", "idip.yaml"} {
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
