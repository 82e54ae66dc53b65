package functions

import "github.com/gamemesh/gamemesh"

// Caller returns the player on whose behalf a player-facing method runs:
// NOT_LOGGED_IN for a call without a player (a service call to a method that
// needs one), BAD_REQUEST for a malformed player id.
func Caller(req gamemesh.Request) (gamemesh.PlayerID, error) {
	if req.Player == "" {
		return "", gamemesh.Errorf(gamemesh.CodeNotLoggedIn, "%s.%s needs a player", req.App, req.Method)
	}
	if !req.Player.Valid() {
		return "", gamemesh.Errorf(gamemesh.CodeBadRequest, "malformed player id")
	}
	return req.Player, nil
}
