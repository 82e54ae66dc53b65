#!/usr/bin/env bash
# Test tool, not for users: builds a stand-in for the gamemesh image under the
# tag docker-compose.yml names, from a static binary on a scratch base, for
# machines whose Docker engine cannot pull the golang and distroless bases.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tag="gamemesh/gamemesh:${GAMEMESH_VERSION:-0.1.0}"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$ctx/gamemesh" ./cmd/gamemesh)
mkdir -p "$ctx/data"
cp -r "$root/scripts" "$ctx/scripts"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY gamemesh /usr/local/bin/gamemesh
COPY --chown=65532:65532 data /data
COPY scripts /scripts
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/gamemesh"]
CMD ["up", "--data", "/data", "--scripts", "/scripts", "--tcp", "0.0.0.0:7100", "--http", "0.0.0.0:7101"]
DOCKERFILE
docker build -q -t "$tag" "$ctx" >/dev/null
echo "$tag"
