// Package functionstest provides the in-memory wiring that tests of function
// apps (login, mail, player, guild, achievement, ...) share, in the way
// net/http/httptest serves tests of HTTP handlers. It is a normal package so
// that every app's tests can import it, but only tests use it.
//
// It offers:
//   - MemStore, a gamemesh.Store in a map with the port's ETag semantics
//     (create-only on an empty ETag, compare-and-set, Unconditional, TTL
//     against a clock) and a Snapshot of every key for "nothing changed"
//     checks;
//   - FaultyStore, a Store wrapper that fails on demand (down, lost
//     acknowledgements, refused writes, a crash after a given write);
//   - Invoker, a gamemesh.Invoker that calls straight into a
//     functions.Registry, and CallAs to run one method through a registry;
//   - Bus, a Publisher that records events and optionally delivers them
//     synchronously to the registry's subscriptions;
//   - Clock, a settable clock;
//   - Context, WantCode and WantSame, small test helpers.
//
// Like the business packages, it never imports an adapter (dapr/, embedded/).
package functionstest
