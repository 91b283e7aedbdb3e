#!/bin/sh
# Creates (or upgrades) Temporal's two databases on Shipshape's PostgreSQL, then exits.
# Safe to run at every `docker compose up`: setup-schema only starts versioning an empty
# database, update-schema applies whatever versions are missing.
set -eu
# The password of Temporal's own role, from its secret file.
POSTGRES_PWD=$(cat "$POSTGRES_PWD_FILE")

sql() {
  db=$1
  shift
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" \
    -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" --db "$db" "$@"
}

setup() {
  # The database exists already: deploy/postgres-init.sql makes both, owned by Temporal's role.
  sql "$1" create-database 2>/dev/null || echo "database $1 exists"
  sql "$1" setup-schema -v 0.0 2>/dev/null || echo "database $1 is versioned already"
  sql "$1" update-schema -d "/etc/temporal/schema/postgresql/v12/$2/versioned"
}

setup "$DBNAME" temporal
setup "$VISIBILITY_DBNAME" visibility
echo "Temporal schemas are up to date"
