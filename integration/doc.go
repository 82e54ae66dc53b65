// Package integration holds the tests that run gamemesh against the real
// thing: redis-server and daprd v1.14 started by the harness, with the
// project's own components/ and sidecar-config/. They are built only with the
// integration tag:
//
//	./deploy/provision.sh                      # redis-server + daprd (cached)
//	go test -tags integration ./integration/...
//
// The harness finds daprd through $DAPRD, then
// ${GAMEMESH_CACHE:-$HOME/.cache/gamemesh}/daprd-1.14.0, then PATH, and
// redis-server through $REDIS_SERVER, then PATH. When one is missing the
// tests skip, except under CI=true, where they fail.
//
// Every test starts its own Redis (own port, own data directory, AOF on,
// keyspace notifications in its config) and one daprd per app on free ports
// (loopback; mDNS name resolution), waits for health, and stops everything
// when it ends. Process logs are printed into the test output when it fails
// (always with GAMEMESH_IT_LOGS=1).
package integration
