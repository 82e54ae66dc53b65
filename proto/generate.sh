#!/usr/bin/env bash
# Regenerates the Go code for proto/game/v1 from its .proto files.
# Needs protoc (Debian: apt-get install protobuf-compiler); protoc-gen-go is
# pinned in go.mod as a tool, so the generator version follows the module.
set -euo pipefail
cd "$(dirname "$0")"
plugin=$(cd .. && go tool -n protoc-gen-go)
protoc --plugin=protoc-gen-go="$plugin" -I . \
  --go_out=. --go_opt=paths=source_relative \
  game/v1/*.proto
