#!/usr/bin/env bash
# Runs a command with a Node.js the platform supports first on PATH (tools/node/ensure-node.sh),
# so the command and everything it starts through PATH (npm, npx, nx, jest, tsx and the
# processes they spawn with process.execPath) run on it:  bash tools/node/run.sh npx nx test tools
set -euo pipefail
bin=$(bash "$(dirname "${BASH_SOURCE[0]}")/ensure-node.sh")
# npm sets these to the node that ran npm, which may be the older one.
export PATH="$bin:$PATH" NODE="$bin/node" npm_node_execpath="$bin/node"
exec "$@"
