// Package meshtest is the conformance suite for the gamemesh ports. It is
// written once and run against every adapter: the embedded one (bbolt, in
// process) on every test run, the Dapr one against a real daprd and Redis.
//
// Each Test* function takes a *testing.T and a factory, and runs its cases as
// subtests. Factories receive the subtest's *testing.T, register their own
// cleanup with t.Cleanup, and must be safe to call from parallel subtests (the
// slow TTL cases run in parallel). Every case uses fresh keys and topics
// (gamemesh.NewID), so the suite can run against a shared, long-lived store.
//
// The suite is tolerant of real backends: TTLs are checked with a 1-second
// granularity, latencies of a few milliseconds are expected, and checks on
// timing are bounds (something happens within seconds), never performance
// assertions. At-least-once backends may deliver an event more often than
// strictly needed; the pub/sub cases say where they allow it.
package meshtest
