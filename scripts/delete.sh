#!/usr/bin/env bash
# Delete release packages from a Release Server. Needs only bash, curl and coreutils.
set -euo pipefail

readonly EXIT_USAGE=2 EXIT_NOT_FOUND=3 EXIT_NO_TOKEN=4 EXIT_AUTH=5 EXIT_UNREACHABLE=8 EXIT_SERVER=9

usage() {
  cat <<'USAGE'
Usage: delete.sh [options] NAME...

Delete one or more packages (and their checksums) by file name.

Options:
  -u, --url URL      Server URL (default: $RELEASE_SERVER_URL or http://localhost:8000)
  -t, --token TOKEN  Token (default: $RELEASE_SERVER_TOKEN; prefer the variable,
                     command-line arguments are visible to other users)
  -f, --force        A package that does not exist is not an error
  -h, --help         Show this help

Exit codes:
  0  every package deleted
  2  usage error
  3  no such package on the server (404; use --force to ignore)
  4  no token given
  5  the server rejected the token (401)
  8  server unreachable
  9  any other server error
USAGE
}

die() {
  local code=$1
  shift
  printf 'delete.sh: %s\n' "$*" >&2
  exit "$code"
}

url=${RELEASE_SERVER_URL:-http://localhost:8000}
token=${RELEASE_SERVER_TOKEN:-}
force=false
names=()

while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    -u | --url) (($# >= 2)) || die "$EXIT_USAGE" "$1 needs a value"; url=$2; shift 2 ;;
    --url=*) url=${1#*=}; shift ;;
    -t | --token) (($# >= 2)) || die "$EXIT_USAGE" "$1 needs a value"; token=$2; shift 2 ;;
    --token=*) token=${1#*=}; shift ;;
    -f | --force) force=true; shift ;;
    --) shift; names+=("$@"); break ;;
    -?*) die "$EXIT_USAGE" "unknown option $1 (see --help)" ;;
    *) names+=("$1"); shift ;;
  esac
done

((${#names[@]})) || die "$EXIT_USAGE" "no package name given (see --help)"
[[ -n $token ]] || die "$EXIT_NO_TOKEN" "no token: set RELEASE_SERVER_TOKEN or pass --token"
url=${url%/}

# Percent-encodes a file name for one URL path segment.
urlencode() {
  local LC_ALL=C s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c"; out+=$c ;;
    esac
  done
  printf '%s' "$out"
}

json_field() {
  local re="\"$1\"[[:space:]]*:[[:space:]]*\"(([^\"\\\\]|\\\\.)*)\""
  [[ $2 =~ $re ]] && printf '%s' "${BASH_REMATCH[1]}"
}

body=$(mktemp)
trap 'rm -f "$body"' EXIT

for name in "${names[@]}"; do
  rc=0
  status=$(curl --silent --show-error --connect-timeout 10 -o "$body" -w '%{http_code}' -X DELETE \
    -H @<(printf 'Authorization: Bearer %s\n' "$token") \
    "$url/packages/$(urlencode "$name")") || rc=$?
  ((rc == 0)) || die "$EXIT_UNREACHABLE" "cannot reach $url (curl exit $rc)"
  detail=$(json_field detail "$(<"$body")") || detail=$(<"$body")
  case $status in
    204 | 200) printf 'Deleted %s\n' "$name" ;;
    404) $force || die "$EXIT_NOT_FOUND" "$name: no such package on $url"
         printf 'Not found (ignored): %s\n' "$name" ;;
    401) die "$EXIT_AUTH" "$url rejected the token (401): $detail" ;;
    *) die "$EXIT_SERVER" "$name: the server answered $status: $detail" ;;
  esac
done
