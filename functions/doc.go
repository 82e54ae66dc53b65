// Package functions is the transport-neutral shape of a gamemesh function: a
// Registry of apps, each with named Handlers and topic Subscriptions.
//
// A function app (login, mail, ...) is a Go package with a Register method that
// adds its handlers to a Registry; cmd/gamemesh wires the apps it runs in one
// explicit list (no init() registration). The same Registry is served in
// process by the embedded adapter and as a Dapr app by the dapr adapter.
package functions
