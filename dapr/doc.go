// Package dapr implements gamemesh's four ports over a Dapr sidecar (daprd
// v1.14, go-sdk v1.11) and serves a functions.Registry as a Dapr app over the
// gRPC app channel. Only internal/system imports it; business code sees the
// ports (gamemesh.Store, Publisher, Subscriber, Invoker, ConfigSource).
//
// A process dials its sidecar once (Dial) and builds the adapters it needs
// from that Client: NewStore, NewPublisher, NewInvoker, NewConfigSource,
// NewSecrets. A process that serves functions or subscribes to topics also
// runs an App (NewApp, Subscribe, Start, Stop). Start order, as
// integration/system_test.go does it: daprd (started with --app-port)
// serves its API before the app listens, so the process dials, WaitReady,
// reads its secrets, builds its functions, then NewApp and Start; daprd then
// connects and reads the subscriptions, once. DirectInvoker calls an App
// without sidecars (the baseline of the overhead benchmark).
//
// Behaviour of Dapr 1.14 that shaped this package (checked in the source of
// dapr v1.14.0, components-contrib v1.14.0-rc.6 and go-sdk v1.11.0, and
// against a real daprd in integration/):
//
//   - State (state.redis). Every write is sent with first-write concurrency,
//     because the store only refuses a write without the current ETag when
//     the key was itself written with first-write concurrency (the "first-write"
//     hash field in its Lua script). Create-only is the ETag "0", which makes a
//     refusal come back as an ETag mismatch (gRPC Aborted) rather than a bare
//     error (Internal). Unconditional (last-write-wins) is a read-then-CAS loop:
//     a last-write request on a key written with first-write concurrency is
//     refused by the same script.
//   - With an ETag, any Redis error is reported as an ETag mismatch, outages
//     included. On Aborted the Store re-reads: CONFLICT only when the key
//     really changed (or exists, for create-only), UNAVAILABLE otherwise.
//   - A write without TTL sends ttlInSeconds=-1 so that the key loses the TTL
//     of an earlier write (PERSIST); TTLs are rounded up to whole seconds.
//   - daprd's gRPC app channel calls the app with context.Background(): the
//     caller's deadline does not reach the handler. The Invoker sends the
//     remaining time as gRPC metadata (gamemesh-timeout-ms) and the App applies it.
//   - daprd sends APP_API_TOKEN (dapr-api-token) to the app on OnInvoke only,
//     not on OnTopicEvent, ListTopicSubscriptions or HealthCheck; the App
//     verifies it where it is sent. Bind the app to loopback (or a private
//     network) so that only its sidecar can reach it.
//   - go-sdk's gRPC service drops DeadLetterTopic from ListTopicSubscriptions
//     and its auth interceptor replaces outgoing metadata; the App implements
//     the AppCallback service itself and the Client appends the token.
//   - go-sdk's SubscribeConfigurationItems ends silently when its stream ends
//     (go-sdk #690): the ConfigSource reads the stream itself, resubscribes with
//     backoff, re-reads on a timer and keeps last-known-good values.
//   - A caller's sidecar keeps its connection to a callee sidecar that went
//     away and redials with gRPC backoff; with the resiliency policy of
//     sidecar-config/, repeated failures open the function circuit breaker for
//     5 s. A function app whose sidecar restarts is reachable again about 5 s
//     after it is back, on the same address (keep its ports fixed: callers
//     cache resolved addresses for up to a minute).
//   - Pub/sub: the event ID travels as the CloudEvent id (metadata
//     "cloudevent.id"), the payload as data_base64 (application/octet-stream).
//     Redelivery of a failed event is the sidecar's inbound resiliency retry
//     (sidecar-config/resiliency); the App counts attempts per event ID and
//     answers DROP once a subscription's MaxAttempts is reached, which makes
//     daprd move the event to the dead-letter topic declared with the
//     subscription. The consumer group is the app id (Subscription.Group is
//     not used by pubsub.redis).
package dapr
