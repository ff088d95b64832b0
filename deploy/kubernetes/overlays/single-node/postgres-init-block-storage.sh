#!/bin/sh
# Creates the block storage role and database. The postgres image runs it once, on an empty data
# directory; it is idempotent, so a cluster that predates block storage runs it by hand (see
# docs/block-storage-kubernetes.md):
#   kubectl -n altostratus exec postgres-0 -- sh /docker-entrypoint-initdb.d/30-block-storage-database.sh
# The role owns its database, so `alto db sync block-storage` can create tables in its public
# schema, and it is no superuser.
set -eu
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v db_user="$BLOCK_STORAGE_DB_USER" -v db_password="$BLOCK_STORAGE_DB_PASSWORD" -v db_name="$BLOCK_STORAGE_DB_NAME" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'db_user', :'db_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'db_user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db_name', :'db_user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db_name') \gexec
SQL
