// Package idip is the operators' HTTP API ("IDIP"): query a player, ban /
// unban, kick, mute / unmute, mail one player or every player, grant items,
// broadcast a server notice, count the players online, flip feature switches
// and live settings, push / list / roll back Lua scripts, and read the
// request log. It is served by the idip function: on its own listener under
// `gamemesh up`, as its own Dapr app (app id "idip", `gamemesh fn --only
// idip --idip-addr ...`) in Dapr mode. It reaches the rest of the game only
// through the ports: login, player and mail through the Invoker, the online
// directory through a Locator, the gates through their push topics and the
// roster, the configuration through a ConfigStore, Lua through Scripts.
//
// # Requests
//
// Every request carries the admin token ("Authorization: Bearer <token>",
// compared in constant time; there is no default token: `gamemesh up`
// generates one into its data directory, Dapr mode reads it from the secret
// store). A request without it, or with a wrong one, is answered 401 and
// audited. X-Idip-Operator names the operator for the audit log.
//
// Reads are GET with URL query parameters; commands that change something
// are POST with a JSON object (unknown fields refused) that carries a
// serial. Every answer is a JSON Answer: {"ok", "command", "serial",
// "at_ms", "result"} or {"ok": false, "code", "message"} with a status from
// the code (400 bad input, 401 token, 404 not found, 409 conflict, 413 body
// too large, 503 unavailable). Bad input is refused before anything is
// changed.
//
//	GET  /v1/player?player_id=P     account (ban, mute), profile, inventory, where online
//	POST /v1/player/ban             {player_id, reason, duration_s}  ban (0 s = forever) and kick at once
//	POST /v1/player/unban           {player_id}
//	POST /v1/player/kick            {player_id, reason}
//	POST /v1/player/mute            {player_id, reason, duration_s}  no player mail, guild notice or chat
//	POST /v1/player/unmute          {player_id}
//	POST /v1/mail                   {player_id, subject, body, attachments}
//	POST /v1/mail/all               {subject, body, attachments, audience, expires_at_ms}
//	POST /v1/grant                  {player_id, items}
//	POST /v1/notice                 {text}  to every online player on every gate
//	GET  /v1/online                 total and per gate
//	GET  /v1/feature                every switch;  POST /v1/feature/on|off {system}
//	GET  /v1/setting                every setting; GET /v1/setting/get?name=N; POST /v1/setting/set {name, value}
//	GET  /v1/script/modules         GET /v1/script?module=M; POST /v1/script/push {module, files}; POST /v1/script/rollback {module, number}
//	GET  /v1/audit?player=&command=&since=&until=&before=&limit=
//
// # Serials and the audit log
//
// See serial.go (idempotency: a serial runs its command once, and a repeat
// gets the first answer byte for byte) and audit.go (an append-only chain of
// pages over the Store, which has no key listing).
//
// While the idip switch (feature.idip) is off, every command but feature,
// setting and audit answers FEATURE_DISABLED, so IDIP can still switch
// itself back on.
package idip
