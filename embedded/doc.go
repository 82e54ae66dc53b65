// Package embedded holds the default single-machine adapters of the gamemesh
// ports: everything runs in one process, with no Dapr and no Redis.
//
//   - DB (Open) is one bbolt file that holds both the key-value Store and a
//     durable event queue (Publisher and Subscriber). SetAndPublish writes a key
//     and publishes an event in one transaction.
//   - NewInvoker calls a functions.Registry in process, with deadlines, panic
//     recovery and copied bodies, so handlers behave as they would behind a
//     sidecar.
//   - FileConfig (OpenFileConfig) is a ConfigSource over a watched JSON file.
//
// File layout of a DB (bbolt buckets):
//
//	kv         key -> version(8) | expiresAt unix ns(8, 0 = never) | value
//	kvttl      expiresAt(8) | key -> nil           (index for the sweeper)
//	groups     topic/ -> group -> nil              (every group ever subscribed)
//	queues     topic/ group/ -> due unix ns(8) | seq(8) -> event
//	unclaimed  topic/ -> seq(8) -> event           (published before any group)
//
// The business packages never import this package; internal/system picks it.
package embedded
