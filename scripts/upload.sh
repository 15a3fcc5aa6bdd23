#!/usr/bin/env bash
# Upload release packages to a Release Server. Needs only bash, curl and coreutils.
set -euo pipefail

readonly EXIT_USAGE=2 EXIT_FILE_MISSING=3 EXIT_NO_TOKEN=4 EXIT_AUTH=5 EXIT_CONFLICT=6 \
  EXIT_CHECKSUM=7 EXIT_UNREACHABLE=8 EXIT_SERVER=9

usage() {
  cat <<'USAGE'
Usage: upload.sh [options] FILE...

Upload one or more packages. Each file's SHA-256 is sent with it; the server
refuses the upload if the bytes it received hash differently.

Options:
  -u, --url URL      Server URL (default: $RELEASE_SERVER_URL or http://localhost:8000)
  -t, --token TOKEN  Upload token (default: $RELEASE_SERVER_TOKEN; prefer the
                     variable, command-line arguments are visible to other users)
  -f, --force        Replace a package that already exists
  -h, --help         Show this help

Exit codes:
  0  every file uploaded
  2  usage error
  3  a file is missing or unreadable (nothing is uploaded)
  4  no token given
  5  the server rejected the token (401)
  6  the package already exists (409; use --force)
  7  checksum mismatch
  8  server unreachable
  9  any other server error (for example 413 too large)
USAGE
}

die() {
  local code=$1
  shift
  printf 'upload.sh: %s\n' "$*" >&2
  exit "$code"
}

url=${RELEASE_SERVER_URL:-http://localhost:8000}
token=${RELEASE_SERVER_TOKEN:-}
overwrite=false
files=()

while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    -u | --url) (($# >= 2)) || die "$EXIT_USAGE" "$1 needs a value"; url=$2; shift 2 ;;
    --url=*) url=${1#*=}; shift ;;
    -t | --token) (($# >= 2)) || die "$EXIT_USAGE" "$1 needs a value"; token=$2; shift 2 ;;
    --token=*) token=${1#*=}; shift ;;
    -f | --force) overwrite=true; shift ;;
    --) shift; files+=("$@"); break ;;
    -?*) die "$EXIT_USAGE" "unknown option $1 (see --help)" ;;
    *) files+=("$1"); shift ;;
  esac
done

((${#files[@]})) || die "$EXIT_USAGE" "no file given (see --help)"
for file in "${files[@]}"; do
  [[ -f $file && -r $file ]] || die "$EXIT_FILE_MISSING" "$file: no such readable file; nothing was uploaded"
done
[[ -n $token ]] || die "$EXIT_NO_TOKEN" "no token: set RELEASE_SERVER_TOKEN or pass --token"
url=${url%/}

# Pulls a string field out of the server's JSON answer (flat objects only).
json_field() {
  local re="\"$1\"[[:space:]]*:[[:space:]]*\"(([^\"\\\\]|\\\\.)*)\""
  [[ $2 =~ $re ]] && printf '%s' "${BASH_REMATCH[1]}"
}

# The names in the answer's "removed" list (what retention deleted), comma-separated.
removed_list() {
  local re='"removed"[[:space:]]*:[[:space:]]*\[([^]]*)\]'
  [[ $1 =~ $re ]] || return 0
  local inside=${BASH_REMATCH[1]//\"/}
  printf '%s' "${inside//,/, }"
}

body=$(mktemp)
trap 'rm -f "$body"' EXIT

upload() {
  local file=$1 sha status detail digest quoted rc removed
  sha=$(sha256sum -- "$file") || die "$EXIT_FILE_MISSING" "$file: cannot read it"
  sha=${sha%% *}
  sha=${sha#\\}
  # curl's -F syntax: quote the path so commas and semicolons in it stay part of the name.
  quoted=${file//\\/\\\\}
  quoted=${quoted//\"/\\\"}
  local progress=(--silent --show-error)
  [[ -t 2 ]] && progress=(--progress-bar)
  printf 'Uploading %s (sha256 %s)\n' "$file" "$sha"
  # The token goes to curl through a file descriptor, never on its command line.
  rc=0
  status=$(curl "${progress[@]}" --connect-timeout 10 -o "$body" -w '%{http_code}' \
    -H @<(printf 'Authorization: Bearer %s\n' "$token") \
    -F "sha256=$sha" -F "file=@\"$quoted\"" \
    "$url/upload?overwrite=$overwrite") || rc=$?
  # A refusal (413, 401) may close the connection before curl has sent
  # everything: curl then fails, but the server's answer still counts.
  if ((rc != 0)) && [[ $status == 000 || $status == 200 ]]; then
    die "$EXIT_UNREACHABLE" "cannot reach $url (curl exit $rc)"
  fi
  detail=$(json_field detail "$(<"$body")") || detail=$(<"$body")
  case $status in
    200)
      digest=$(json_field sha256 "$(<"$body")") || digest=""
      [[ $digest == "$sha" ]] || die "$EXIT_CHECKSUM" "$file: checksum mismatch: sent sha256 $sha, the server stored ${digest:-no digest}"
      printf 'Uploaded %s: server sha256 %s\n' "$file" "$digest"
      removed=$(removed_list "$(<"$body")")
      if [[ -n $removed ]]; then printf 'Retention removed: %s\n' "$removed"; fi ;;
    401) die "$EXIT_AUTH" "$url rejected the token (401): $detail" ;;
    409) die "$EXIT_CONFLICT" "$file: $detail (use --force to replace it)" ;;
    400) if [[ $detail == "checksum mismatch"* ]]; then die "$EXIT_CHECKSUM" "$file: $detail"; fi
         die "$EXIT_SERVER" "$file: the server refused it (400): $detail" ;;
    *) die "$EXIT_SERVER" "$file: the server answered $status: $detail" ;;
  esac
}

for file in "${files[@]}"; do
  upload "$file"
done
