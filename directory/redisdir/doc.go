// Package redisdir holds the go-redis implementations of the directory's
// shared views for Dapr mode, where several gates, scene hosts and function
// processes must see one state: the Roster of running processes, and the
// Online directory of which gate and session hold each player (atomic
// register/unregister, entries kept alive by the registering gate's
// heartbeat and gone a TTL after it dies). Their in-process twins live in
// package directory (embedded mode).
//
// These are adapters: business packages use the small interfaces of package
// directory and the composition root (internal/system) picks this package.
package redisdir
