// Package gamemesh is the vocabulary of the gamemesh game backend: identifiers,
// the client-facing error catalogue, and the four ports that business code talks
// to — Store, Publisher/Subscriber, Invoker and ConfigSource.
//
// Business code (functions, gate, scene, luavm, feature) depends only on these
// ports. Adapters live in subpackages: embedded (bbolt, in-process; the default)
// and dapr (Dapr sidecars over Redis). internal/system is the one place that
// picks adapters. The meshtest package holds the conformance suite every
// adapter must pass.
package gamemesh
