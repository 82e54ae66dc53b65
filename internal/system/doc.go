// Package system is the one composition root of gamemesh: it builds a running
// node from configuration, choosing the adapters (embedded bbolt and
// in-process calls, or Dapr sidecars) behind the ports that the business
// packages use. Nothing else in the module picks an adapter.
package system
