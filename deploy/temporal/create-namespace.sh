#!/usr/bin/env bash
# The `temporal-namespace` one-shot of docker-compose.yml (temporalio/admin-tools image): registers the
# namespace the workers poll unless it exists, and the RestaurantStream search attribute the workflows
# carry (so `restaurant-stack ingest list` and the Web UI can filter by stream). The `temporal` CLI reads
# TEMPORAL_ADDRESS.
set -euo pipefail
if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "temporal-namespace: $TEMPORAL_NAMESPACE exists"
else
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$TEMPORAL_RETENTION"
fi
# A namespace just created reaches the server's namespace cache within seconds: retry until it has.
for attempt in $(seq 30); do
  if attributes=$(temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" 2>&1); then
    if grep -qw RestaurantStream <<<"$attributes"; then
      echo "temporal-namespace: search attribute RestaurantStream exists"
      exit 0
    fi
    temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name RestaurantStream --type Keyword && exit 0
  fi
  echo "temporal-namespace: namespace $TEMPORAL_NAMESPACE not ready for search attributes yet (attempt $attempt): $attributes"
  sleep 1
done
echo "temporal-namespace: could not register the RestaurantStream search attribute" >&2
exit 1
