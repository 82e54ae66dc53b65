#!/usr/bin/env bash
# standin.sh — test tool, not for users. Builds local stand-ins for every image docker-compose.yml names, under
# exactly the tags it names (variables resolved as compose resolves them), for machines whose Docker engine has no
# registry to pull from. The compose file under test is then the one users run, unchanged:
#
#   gamemesh/gamemesh:*  the gamemesh binary built here (static, CGO off) on a scratch base, laid out like
#                        deploy/docker/Dockerfile's image (/usr/local/bin/gamemesh, /scripts, /data, user 65532);
#   daprio/daprd:V       the daprd V that deploy/provision.sh builds and caches ($GAMEMESH_CACHE/daprd-V), at /daprd
#                        on a scratch base as in Dapr's own image (user 65532, working directory /);
#   redis:V              Debian's redis-server and redis-cli and the libraries ldd names, at /usr/local/bin as in the
#                        official image (user 999, /data). Debian's Redis version is printed next to the tag.
#
# Usage: deploy/docker/standin.sh [COMPOSE_FILE...]   (default: docker-compose.yml at the repository root)
# Environment: DAPRD (a daprd binary to use), GAMEMESH_CACHE (default ~/.cache/gamemesh), REDIS_SERVER, REDIS_CLI,
# and whatever variables the compose file reads (GAMEMESH_VERSION, DAPR_VERSION). Prints one line per image built.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${GAMEMESH_CACHE:-$HOME/.cache/gamemesh}"
log() { printf 'standin: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

compose() {
	if docker compose version >/dev/null 2>&1; then
		docker compose "$@"
	elif command -v docker-compose >/dev/null 2>&1; then
		docker-compose "$@"
	else
		die "neither 'docker compose' nor 'docker-compose' is installed"
	fi
}

files=()
if [ $# -eq 0 ]; then
	files=(-f "$root/docker-compose.yml")
else
	for f in "$@"; do files+=(-f "$f"); done
fi

# Every image of every service, profiles included.
profiles=()
while read -r p; do
	[ -n "$p" ] && profiles+=(--profile "$p")
done < <(compose "${files[@]}" config --profiles)
mapfile -t images < <(compose "${files[@]}" "${profiles[@]}" config | awk '$1 == "image:" { print $2 }' | sort -u)
[ ${#images[@]} -gt 0 ] || die "no images named in ${files[*]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# base_rootfs DIR UID NAME HOME: /etc/passwd and /etc/group with root and one user, /tmp, the user's home, and the
# host's CA bundle (the distroless bases carry one too).
base_rootfs() {
	local dir="$1" uid="$2" name="$3" home="$4"
	mkdir -p "$dir/etc" "$dir/tmp" "$dir$home"
	chmod 1777 "$dir/tmp"
	printf 'root:x:0:0:root:/root:/sbin/nologin\n%s:x:%s:%s:%s:%s:/sbin/nologin\n' "$name" "$uid" "$uid" "$name" "$home" >"$dir/etc/passwd"
	printf 'root:x:0:\n%s:x:%s:\n' "$name" "$uid" >"$dir/etc/group"
	if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
		mkdir -p "$dir/etc/ssl/certs"
		cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/"
	fi
}

build() { # TAG CONTEXT (the legacy builder's deprecation notice is shown only with a failure)
	if ! docker build -q --label org.gamemesh.standin=true -t "$1" "$2" >/dev/null 2>"$work/build.log"; then
		cat "$work/build.log" >&2
		die "building the stand-in $1 failed"
	fi
}

standin_gamemesh() {
	local tag="$1" ctx="$work/gamemesh"
	base_rootfs "$ctx/rootfs" 65532 nonroot /home/nonroot
	mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/data"
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$ctx/rootfs/usr/local/bin/gamemesh" ./cmd/gamemesh)
	cp -r "$root/scripts" "$ctx/rootfs/scripts"
	cat >"$ctx/Dockerfile" <<-'DOCKERFILE'
		FROM scratch
		COPY rootfs/ /
		COPY --chown=65532:65532 data /data
		ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		USER 65532:65532
		WORKDIR /
		EXPOSE 7100 7101 7102 7180 7300 7301 50051
		ENTRYPOINT ["/usr/local/bin/gamemesh"]
		CMD ["up", "--data", "/data", "--scripts", "/scripts", "--tcp", "0.0.0.0:7100", "--http", "0.0.0.0:7101"]
	DOCKERFILE
	build "$tag" "$ctx"
	echo "$tag (stand-in: gamemesh $(cd "$root" && git describe --always --dirty 2>/dev/null || echo built here), scratch base)"
}

standin_daprd() {
	local tag="$1" version="${1##*:}" ctx="$work/daprd" bin
	bin="${DAPRD:-$cache/daprd-$version}"
	if [ ! -x "$bin" ]; then
		log "daprd $version is not built yet: running deploy/provision.sh"
		DAPR_VERSION="$version" GAMEMESH_CACHE="$cache" "$root/deploy/provision.sh" >&2
	fi
	[ "$("$bin" --version 2>/dev/null)" = "$version" ] || die "$bin is not daprd $version (it says: $("$bin" --version 2>&1 | head -n1))"
	base_rootfs "$ctx/rootfs" 65532 nonroot /home/nonroot
	cp "$bin" "$ctx/rootfs/daprd"
	cat >"$ctx/Dockerfile" <<-'DOCKERFILE'
		FROM scratch
		COPY rootfs/ /
		USER 65532:65532
		WORKDIR /
	DOCKERFILE
	build "$tag" "$ctx"
	echo "$tag (stand-in: $bin, scratch base)"
}

# copy_with_libs BIN DEST_NAME ROOTFS: BIN (symlinks resolved) as /usr/local/bin/DEST_NAME, and every library ldd
# names, at its own path.
copy_with_libs() {
	local bin="$1" name="$2" rootfs="$3" lib
	mkdir -p "$rootfs/usr/local/bin"
	cp -L "$bin" "$rootfs/usr/local/bin/$name"
	while read -r lib; do
		[ -n "$lib" ] || continue
		mkdir -p "$rootfs$(dirname "$lib")"
		cp -L "$lib" "$rootfs$lib"
	done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
}

standin_redis() {
	local tag="$1" ctx="$work/redis" server cli have
	server="$(command -v "${REDIS_SERVER:-redis-server}")" || die "redis-server is not installed (deploy/provision.sh installs it)"
	cli="$(command -v "${REDIS_CLI:-redis-cli}")" || die "redis-cli is not installed (Debian package redis-tools)"
	base_rootfs "$ctx/rootfs" 999 redis /data
	rmdir "$ctx/rootfs/data"
	copy_with_libs "$server" redis-server "$ctx/rootfs"
	copy_with_libs "$cli" redis-cli "$ctx/rootfs"
	mkdir -p "$ctx/data"
	cat >"$ctx/Dockerfile" <<-'DOCKERFILE'
		FROM scratch
		COPY rootfs/ /
		COPY --chown=999:999 data /data
		ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		USER 999:999
		WORKDIR /data
		VOLUME /data
		EXPOSE 6379
		CMD ["redis-server"]
	DOCKERFILE
	build "$tag" "$ctx"
	have="$("$server" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')"
	echo "$tag (stand-in: Debian's redis-server $have and its libraries, scratch base)"
}

for image in "${images[@]}"; do
	case "${image%:*}" in
	gamemesh/gamemesh) standin_gamemesh "$image" ;;
	daprio/daprd) standin_daprd "$image" ;;
	redis) standin_redis "$image" ;;
	*) die "no stand-in for image $image: add one to $0" ;;
	esac
done
