#!/bin/sh
# Creates the identity role and database; the postgres image runs it once, on an empty data directory.
# The role owns its database, so `alto db sync identity` can create tables in its public schema
# (PostgreSQL 15+ no longer lets every role create there), and it is no superuser.
set -eu
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v db_user="$IDENTITY_DB_USER" -v db_password="$IDENTITY_DB_PASSWORD" -v db_name="$IDENTITY_DB_NAME" <<'SQL'
CREATE ROLE :"db_user" LOGIN PASSWORD :'db_password';
CREATE DATABASE :"db_name" OWNER :"db_user";
SQL
