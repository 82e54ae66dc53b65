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
//     drives it (bots, a feature switched off and on, the mail function
//     killed and restarted) and brings it down, checking that nothing is left.
//
//     make e2e        # or: go test -count=1 -tags e2e -timeout 20m ./integration/e2e/
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
// become healthy, or running when it has no health check). A step is a
// function of the running stack added to the steps list in e2e_test.go; the
// stack gives it the published gate addresses, a logged-in player, the
// Redis of the stack (published on a loopback port by
// testdata/compose.e2e.yml) and `compose exec` / `compose run`.
package e2e
