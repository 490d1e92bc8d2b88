#!/usr/bin/env bash
# Runs once, when the postgres service initialises an empty data volume (/docker-entrypoint-initdb.d).
# The warehouse's own roles, schema and grants come from the `migrate` service, on every start.
set -euo pipefail

psql --username "$POSTGRES_USER" --dbname postgres -v ON_ERROR_STOP=1 \
  -v warehouse="$WAREHOUSE_DATABASE" \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" \
  -v metabase_password="$METABASE_DB_PASSWORD" <<'SQL'
-- The restaurant warehouse, empty until `restaurant-stack migrate` fills it.
CREATE DATABASE :"warehouse";

-- Temporal's persistence: the `temporal-schema` service creates its `temporal` and `temporal_visibility`
-- databases as this role (so it owns their public schema, as PostgreSQL 15 requires) and migrates them.
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';

-- Metabase's application database (its users, questions and dashboards), apart from the warehouse.
CREATE ROLE metabase LOGIN PASSWORD :'metabase_password';
CREATE DATABASE metabase OWNER metabase;
SQL
