#!/usr/bin/env bash
# The `temporal-schema` one-shot of docker-compose.yml (temporalio/admin-tools image), as Temporal documents
# for a self-hosted server on PostgreSQL: its two databases, created by the temporal role when missing (so
# that role owns them and their public schema, which PostgreSQL 15 requires), then `setup-schema` and
# `update-schema` to the newest versioned schema. Idempotent: it runs on every `docker compose up`.
set -euo pipefail
: "${SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"
export SQL_PASSWORD="$POSTGRES_PWD"

sql_tool() {
  local database=$1
  shift
  temporal-sql-tool --plugin "$DB" --ep "$POSTGRES_SEEDS" --port "$DB_PORT" --user "$POSTGRES_USER" --db "$database" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
  database=${pair%%:*}
  schema=${pair##*:}
  if ! output=$(sql_tool "$database" create 2>&1); then
    grep -q 'already exists' <<<"$output" || { printf '%s\n' "$output" >&2; exit 1; }
  fi
  sql_tool "$database" setup-schema -v 0.0
  sql_tool "$database" update-schema -d "$SCHEMA_DIR/$schema/versioned"
  echo "temporal-schema: database $database is at the newest $schema schema"
done
