// Package login is the "login" function app: guest accounts per device, bans,
// and the signed tickets that a client presents in its first frame to a gate.
//
// Methods (app "login"):
//
//	guest   Public  GuestLoginRequest   → GuestLoginResponse   (reached before login, through the gate's HTTP endpoint)
//	ban     service BanRequest          → BanResponse
//	unban   service UnbanRequest        → BanResponse
//	mute    service MuteRequest          → MuteResponse
//	unmute  service UnmuteRequest        → MuteResponse
//	status  service AccountStatusRequest → AccountStatusResponse (bans and mutes in force)
//	exists  service PlayerExistsRequest → PlayerExistsResponse
//
// Keys (owned by this app, values are JSON documents, see records.go):
//
//	login/device/<sha256 hex of the device id> → {"player", "created_at_ms"}
//	login/account/<player id>                  → {"player", "device", "created_at_ms", "ban", "mute"}
//
// The device id is hashed so any printable id fits in a key and raw device ids
// are not stored. A first login writes the device key create-only, so two
// concurrent first logins of one device end with one player id; the account
// record is then created create-only too. A crash between the two writes is
// repaired by the next login of the device (every step is idempotent), and the
// player does not "exist" (login.exists) until its account record is written.
//
// Bans and mutes live on the account record and are changed with an ETag
// read-modify-write loop. One whose until has passed is ignored; until 0
// means forever. Bans are enforced here, at login. Mutes are enforced where
// players speak: the registry refuses the speech routes of a muted player with
// MUTED (functions.Registry.SetSpeechGuard with a SpeechGuard of this package,
// which asks login.status).
package login
