#!/usr/bin/env bash
# The end-to-end behaviour suite, unchanged, with the server under Bun and then
# Deno (npm test runs it under Node, with coverage). A check a runtime cannot
# pass is skipped inside its file with the reason printed.
set -euo pipefail
cd "$(dirname "$0")/.."
# These start every runtime themselves, or test the Node-based image: they run once, under Node.
once=(test/smoke.e2e.test.ts test/releases-runtimes.e2e.test.ts test/image.e2e.test.ts)
files=()
for f in test/*.e2e.test.ts; do
  [[ " ${once[*]} " == *" $f "* ]] || files+=("$f")
done
for runtime in bun deno; do
  echo "# End-to-end suite under $runtime (${once[*]} run under Node only: they cover every runtime or the image themselves)"
  RS_RUNTIME=$runtime npx tap --disable-coverage "${files[@]}"
done
