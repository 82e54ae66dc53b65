// Package e2e tests docker-compose.yml — the file users run — end to end.
//
// Two kinds of tests live here:
//
//   - Without a build tag (run by every `go test ./...`), compose_test.go reads
//     docker-compose.yml and sidecar-config/compose/ and checks the rules the
//     stack depends on: images pinned, one daprd service per app reached at
//     --app-channel-address (never network_mode: dapr #5718), the DNS name
//     resolution template matching the service names and ports, tokens on
//     every app and sidecar, only the gate's ports published, health checks
//     on every app, the compose Dapr Configurations equal to the self-hosted
//     ones plus name resolution.
//
//   - With the e2e tag, e2e_test.go builds the stand-in images
//     (deploy/docker/standin.sh: this machine has no registry), runs the stack
//     under a project name of its own, waits until every service is healthy,
//     drives it (bots, a feature switched off and seen applied by every
//     process in the roster, the container serving mail killed and
//     restarted) and brings it down, checking that nothing is left.
//
//     make e2e        # or: go test -count=1 -v -tags e2e -run TestComposeStack ./integration/e2e/
//
// The e2e test takes the integration lock (/tmp/gamemesh-integration.lock)
// itself for as long as the stack runs, so it never shares the machine with
// the integration tests' daprd processes; do not wrap it in flock(1) as well.
// It needs docker and docker compose (v2) or docker-compose (v1.29); without
// them it skips, except under CI=true, where it fails. Set
// GAMEMESH_E2E_STANDIN=0 to run on images you built or pulled yourself, and
// GAMEMESH_E2E_KEEP=1 to leave a failed stack running for inspection.
//
// Adding a service or a step: a new service in docker-compose.yml is waited
// for by the test without change (every service outside a profile must
// become healthy, or running when it has no health check), and a new
// gamemesh process (its --id) joins the processes waitRoster expects. A step
// is a function of the running stack added to the steps list in
// e2e_test.go; the stack gives it the published gate addresses (TCP, HTTP),
// a logged-in player (player), the Redis of the stack (Redis, published on a
// loopback port by testdata/compose.e2e.yml: redisconfig writes switches
// there), `compose exec` / `compose run` (composeOut, composeSplit), the
// containers' state (containers, waitService), the service serving a
// function (servingService) and waitRoster, which waits until every process
// reports something in the roster: a configuration version today, a Lua
// generation ("lua:<module>" = "<generation>:<hash>") for a script push. A
// port published for a new service (IDIP) gets a variable in
// docker-compose.yml, set to a free port by startStack like the gate's.
package e2e
