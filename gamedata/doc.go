// Package gamedata is the game's static data that every system checks input
// against: the item catalogue (items.json, compiled into the binary). Mail
// attachments, operator grants, achievement rewards and scene drops may only
// name items listed here; anything else is refused with INVALID_ARGUMENT
// ("unknown item").
//
// The catalogue is data, not code: add an item to items.json (an id of
// 1 to 64 characters of [a-z0-9_.-], a display name, a stack cap, a kind) and
// rebuild. Values that must change in a live game belong in Lua config
// tables or live settings instead.
package gamedata
