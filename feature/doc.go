// Package feature holds the live-ops switches and settings of a gamemesh
// process, read from a gamemesh.ConfigSource (the Dapr configuration store in
// a cluster, a watched file in embedded mode).
//
// Every system has an id (login, mail, guild, pvp, ..., or any Lua module; the
// system part of a route "system.method") and a switch under the config key
// "feature.<id>" whose value is "on" or "off"; an absent key means on. Live
// settings (max online, admission rate, rate limits, Lua budgets, the
// write-behind interval) are declared in one table, each with a kind, a
// default, a unit and a valid range, under the config key "setting.<name>"
// (for example "setting.gate.max_online"). An invalid value (not "on"/"off",
// the wrong type, out of range) is refused and logged, and the last valid
// value stays in force; an absent value means the default.
//
// Flags keeps the current values in an immutable Snapshot behind an atomic
// pointer: Enabled, the check the gate makes on every request, takes no lock
// and allocates nothing. Code that must react to a change registers a Watch
// callback, which runs on a goroutine of Flags with the latest snapshot.
//
// Flags talks to the source like this (the configuration store may be down,
// and its notifications are fire-and-forget, see PITFALLS): Start subscribes,
// then reads every key; a timer re-reads every key (reconcile) and applies
// what the subscription missed; a failed Subscribe is retried with backoff,
// and a change found by the reconcile that no notification delivered makes
// Flags subscribe again (a subscription may die silently, go-sdk #690).
// Nothing is ever cleared because the source failed: the last known good
// values survive any outage. If the first read fails, Flags starts on the
// defaults and says so (or refuses to start, with Config.RequireInitialRead)
// and keeps trying. Staleness (time since the last successful read or
// notification), per-key versions and refusals are exported as Prometheus
// metrics on a registry passed in.
package feature
