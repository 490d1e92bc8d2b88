#!/bin/sh
# Prints pgAdmin's server list for this deployment: the warehouse database is WAREHOUSE_DATABASE.
# docker-compose.yml's pgadmin service writes it before starting pgAdmin as its image does.
set -eu
case "${WAREHOUSE_DATABASE:-}" in
  *[!A-Za-z0-9_]*|'') echo "WAREHOUSE_DATABASE must be letters, digits and _ (got '${WAREHOUSE_DATABASE:-}')" >&2; exit 2 ;;
esac
sed "s/@WAREHOUSE_DATABASE@/$WAREHOUSE_DATABASE/" "$(dirname "$0")/servers.json.template"
