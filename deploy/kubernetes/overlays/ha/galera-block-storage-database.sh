# The block storage database and its user. Sourced (not executed) by the mariadb image's
# entrypoint on the first initialisation of the data directory, where docker_process_sql is at
# hand; the joiners receive them with their first state transfer. Idempotent, so a cluster that
# predates block storage runs it by hand on one member (Galera replicates it to the others; see
# docs/block-storage-kubernetes.md):
#   kubectl -n altostratus exec mariadb-0 -- bash /docker-entrypoint-initdb.d/30-block-storage-database.sh
block_storage_database_sql() {
  if declare -F docker_process_sql >/dev/null; then
    docker_process_sql --database=mysql
  else
    MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb --user=root --protocol=socket --database=mysql
  fi
}
block_storage_database_sql <<SQL
CREATE DATABASE IF NOT EXISTS \`${BLOCK_STORAGE_DB_NAME}\`;
CREATE USER IF NOT EXISTS '${BLOCK_STORAGE_DB_USER}'@'%' IDENTIFIED BY '${BLOCK_STORAGE_DB_PASSWORD}';
GRANT ALL PRIVILEGES ON \`${BLOCK_STORAGE_DB_NAME}\`.* TO '${BLOCK_STORAGE_DB_USER}'@'%';
SQL
