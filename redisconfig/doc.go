// Package redisconfig writes and reads the Redis behind Dapr's
// configuration.redis component directly, with go-redis: keys are plain and
// values are "value||version". Dapr's configuration API has no write call, so
// the operators' side of feature switches, live settings and Lua activations
// (gamemesh ctl --redis, the IDIP function in Dapr mode) writes through this
// package, and every process then reads the change through its sidecar.
//
// Set bumps the key's version atomically (one Lua script on the server), so
// concurrent writers never share a version and a version never goes back.
package redisconfig
