// Package bots is the load driver behind `gamemesh bots`: it logs in a number
// of guest players through the client SDK and has each of them play the
// non-realtime game for a while — mailing other bots, listing, claiming (one
// by one, or all at once with mail.claimAll: odd bots do) and reading mail,
// reading the server-wide mail operators broadcast, looking at its inventory,
// guilds and achievements — while recording, per route, successes, failures
// and latency percentiles. Sends the mail quotas refuse (RATE_LIMITED,
// LIMIT_REACHED) are expected answers, counted apart in mail_quota.
//
// Run drives one run and returns a Report whose JSON form is one line:
//
//	{"players":200,"duration_s":30.0,"logins_ok":200,"calls":{"mail.send":{"ok":2990,"err":0,"p50_ms":1.2,"p99_ms":3.4},...},"errors":0,"pushes":2990,...}
//
// errors counts every failure: failed login attempts, failed calls (a claim
// answered ALREADY_DONE included: a bot claims only what its own list showed
// unclaimed, from its one goroutine, so that answer is a backend bug) and
// sessions lost mid-run. A bot whose session is lost logs in again with the
// same device id until the run ends.
package bots
