#!/usr/bin/env bash
# Throughput of the release server next to nginx serving the same files from
# the same directory, measured with wrk on 127.0.0.1. Prints a Markdown table.
#
#   bench/bench.sh [seconds-per-run] [connections]
#
# Needs wrk and nginx (Debian: apt-get install wrk nginx-light) and a built
# dist/ (npm run build). Runtimes: node always; bun and deno when installed
# under node_modules/.bin (npm install does that). With the S3_* settings in
# the environment (e.g. from ../shared/s3/start-s3.sh), one more row: node with
# STORAGE_BACKEND=s3, downloads streamed from the bucket through the server.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5}
CONNECTIONS=${2:-32}
PORT=18400
NGINX_PORT=18480
work=$(mktemp -d)
chmod 755 "$work" # nginx workers run as an unprivileged user
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/data" && chmod 755 "$work/data"
head -c 10240 /dev/urandom >"$work/small-1.0.0.zip"
head -c 10485760 /dev/urandom >"$work/large-1.0.0.zip"

wait_for() { for _ in $(seq 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

rps() { # url -> requests/second and transfer/second
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {r=$2} /Transfer\/sec/ {t=$2} END {printf "%s req/s, %s/s", r, t}'
}

start_server() { # runtime [extra env...]
  local cmd
  case "$1" in
    node) cmd=(node dist/main.js) ;;
    bun) cmd=(node_modules/.bin/bun dist/main.js) ;;
    deno) cmd=(node_modules/.bin/deno run --allow-all --config=deno.json dist/main.js) ;;
  esac
  local log="$work/$1.log"
  shift
  env HOST=127.0.0.1 PORT=$PORT STORAGE_PATH="$work/data" AUTH_TOKEN=bench CONFIG_PATH='' "$@" "${cmd[@]}" >"$log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$PORT/healthz"
}

stop_server() { kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; }

cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  server { listen 127.0.0.1:$NGINX_PORT; location /assets/ { alias $work/data/; } }
}
NGINX

echo "| Server | 10 KiB download | 10 MiB download | GET /packages | GET /latest |"
echo "|---|---|---|---|---|"
for runtime in node bun deno; do
  [ "$runtime" = node ] || [ -x "node_modules/.bin/$runtime" ] || continue
  start_server "$runtime"
  if [ "$runtime" = node ]; then
    for f in small-1.0.0.zip large-1.0.0.zip; do
      curl -fsS -o /dev/null -T "$work/$f" -H "Authorization: Bearer bench" "http://127.0.0.1:$PORT/assets/$f"
    done
  fi
  base="http://127.0.0.1:$PORT"
  echo "| release-server on $runtime | $(rps "$base/assets/small-1.0.0.zip") | $(rps "$base/assets/large-1.0.0.zip") | $(rps "$base/packages") | $(rps "$base/latest") |"
  stop_server
done
if [ -n "${S3_ENDPOINT:-}" ]; then
  prefix="bench-$$-$RANDOM/"
  start_server node STORAGE_BACKEND=s3 S3_PREFIX="$prefix" MAX_PACKAGES=0
  base="http://127.0.0.1:$PORT"
  for f in small-1.0.0.zip large-1.0.0.zip; do
    curl -fsS -o /dev/null -T "$work/$f" -H "Authorization: Bearer bench" "$base/assets/$f"
  done
  echo "| release-server on node, STORAGE_BACKEND=s3 | $(rps "$base/assets/small-1.0.0.zip") | $(rps "$base/assets/large-1.0.0.zip") | $(rps "$base/packages") | $(rps "$base/latest") |"
  for f in small-1.0.0.zip large-1.0.0.zip; do
    curl -fsS -o /dev/null -X DELETE -H "Authorization: Bearer bench" "$base/assets/$f"
  done
  stop_server
fi
nginx -c "$work/nginx.conf" -p "$work"
wait_for "http://127.0.0.1:$NGINX_PORT/assets/small-1.0.0.zip"
echo "| nginx (1 worker, sendfile) | $(rps "http://127.0.0.1:$NGINX_PORT/assets/small-1.0.0.zip") | $(rps "http://127.0.0.1:$NGINX_PORT/assets/large-1.0.0.zip") | — | — |"
