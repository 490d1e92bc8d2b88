#!/usr/bin/env bash
# The `temporal-namespace` one-shot of docker-compose.yml (temporalio/admin-tools image): registers the
# namespace the workers poll unless it exists. The `temporal` CLI reads TEMPORAL_ADDRESS.
set -euo pipefail
if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "temporal-namespace: $TEMPORAL_NAMESPACE exists"
else
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$TEMPORAL_RETENTION"
fi
