#!/usr/bin/env bash
# The end-to-end behaviour suite, unchanged, with every server storing its
# packages in a bucket (STORAGE_BACKEND=s3) of the real S3-compatible server in
# ../shared/s3/, started here when S3_ENDPOINT is not set. A check about the
# storage directory itself is skipped inside its file, with the reason printed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${S3_ENDPOINT:-}" ]; then
  if ! settings=$(bash ../shared/s3/start-s3.sh 2>/tmp/release-server-s3-start.log); then
    echo "# End-to-end suite on the S3 backend SKIPPED: the S3 server did not start ($(tail -1 /tmp/release-server-s3-start.log))"
    exit 0
  fi
  set -a
  # shellcheck source=/dev/null
  . <(printf '%s\n' "$settings")
  set +a
fi
# Run elsewhere: the image's layout, the filesystem's faults, the replicas (their own bucket
# prefix and database), and the smoke test (the same requests as api.e2e).
skip=(test/image.e2e.test.ts test/store-faults.e2e.test.ts test/replicas.e2e.test.ts test/smoke.e2e.test.ts)
files=()
for f in test/*.e2e.test.ts; do
  [[ " ${skip[*]} " == *" $f "* ]] || files+=("$f")
done
echo "# End-to-end suite on the S3 backend (${S3_ENDPOINT}; ${skip[*]} run on the directory only)"
STORAGE_BACKEND=s3 npx tap --disable-coverage "${files[@]}"
