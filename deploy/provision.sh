#!/usr/bin/env bash
# provision.sh — installs what gamemesh's Dapr-mode integration tests need, idempotently:
#   * redis-server (Debian package; the tests start their own processes with deploy/redis/redis.conf,
#     the system service is neither needed nor touched);
#   * daprd v1.14.0 built from the Go module proxy with -tags stablecomponents, CGO off, cached.
# A second run takes seconds. Run as root on a fresh Debian machine (apt and the Go module proxy reachable),
# or as any user when redis-server is already installed.
#
# Environment:
#   GAMEMESH_CACHE  cache directory (default $HOME/.cache/gamemesh); daprd lands in $GAMEMESH_CACHE/daprd-1.14.0
#   DAPR_VERSION    daprd version to build (default 1.14.0)
# Prints "redis-server=<path>" and "daprd=<path>" on success.
set -euo pipefail

DAPR_VERSION="${DAPR_VERSION:-1.14.0}"
CACHE="${GAMEMESH_CACHE:-$HOME/.cache/gamemesh}"
DAPRD="$CACHE/daprd-$DAPR_VERSION"

log() { printf 'provision: %s\n' "$*" >&2; }

ensure_redis() {
	if command -v redis-server >/dev/null 2>&1; then
		return
	fi
	if [ "$(id -u)" -ne 0 ]; then
		log "redis-server is missing and this is not root: run 'apt-get install -y redis-server' as root"
		exit 1
	fi
	log "installing redis-server from apt"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends redis-server >/dev/null 2>&1; then
		apt-get update -q >/dev/null
		apt-get install -y --no-install-recommends redis-server >/dev/null
	fi
	# The package starts a system service; the tests run their own instances on their own ports and never rely
	# on it, so it is left as the distribution configured it.
}

ensure_daprd() {
	if [ -x "$DAPRD" ] && [ "$("$DAPRD" --version 2>/dev/null)" = "$DAPR_VERSION" ]; then
		return
	fi
	command -v go >/dev/null 2>&1 || { log "go is not installed"; exit 1; }
	mkdir -p "$CACHE"
	local work
	work="$(mktemp -d "$CACHE/daprd-build.XXXXXX")"
	trap 'rm -rf "$work"; trap - RETURN' RETURN
	log "building daprd v$DAPR_VERSION (about 5 minutes on 2 cores) in $work"

	# dapr's go.mod carries replace directives, which 'go install pkg@version' refuses: build from a throwaway
	# module that requires dapr and repeats those replace directives.
	local gomod
	gomod="$(cd "$work" && go mod download -json "github.com/dapr/dapr@v$DAPR_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
	[ -f "$gomod" ] || { log "cannot find dapr's go.mod in the module cache"; exit 1; }
	local goline
	goline="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod" | head -n1)"

	(
		cd "$work"
		printf 'module gamemesh.local/daprd\n\ngo %s\n' "${goline:-1.22}" >go.mod
		go mod edit -require="github.com/dapr/dapr@v$DAPR_VERSION"
		# Repeat every module replace (local-path replaces cannot be repeated and dapr's release has none).
		go mod edit -json "$gomod" | awk '
			/"Replace": \[/ { inrep = 1; next }
			inrep && /"Old": \{/ { side = "old"; next }
			inrep && /"New": \{/ { side = "new"; next }
			inrep && /"Path":/ { gsub(/[",]/, "", $2); path[side] = $2; next }
			inrep && /"Version":/ { gsub(/[",]/, "", $2); ver[side] = $2; next }
			inrep && /^\t\t\}/ {
				if (path["old"] != "" && path["new"] != "" && ver["new"] != "") {
					o = path["old"]; if (ver["old"] != "") o = o "@" ver["old"]
					print o "=" path["new"] "@" ver["new"]
				}
				path["old"] = path["new"] = ver["old"] = ver["new"] = ""
				next
			}
			inrep && /^\t\]/ { inrep = 0 }
		' | while read -r rep; do
			go mod edit -replace="$rep"
		done
		log "replace directives: $(grep -c '=>' go.mod || true)"
		CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod" nice -n 10 \
			go build -trimpath -tags stablecomponents \
			-ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION -X github.com/dapr/dapr/pkg/buildinfo.gitversion=v$DAPR_VERSION" \
			-o "$DAPRD.tmp" github.com/dapr/dapr/cmd/daprd
	)
	mv "$DAPRD.tmp" "$DAPRD"
}

ensure_redis
ensure_daprd
echo "redis-server=$(command -v redis-server)"
echo "daprd=$DAPRD"
echo "daprd version: $("$DAPRD" --version 2>&1 | head -n1)"
echo "(the integration tests find daprd through \$DAPRD, then \$GAMEMESH_CACHE, then PATH)"
