# The image database and its user (the identity ones come from MARIADB_DATABASE/MARIADB_USER).
# Sourced (not executed) by the mariadb image's entrypoint on the first initialisation of the data
# directory, where docker_process_sql is at hand; the joiners receive them with their first state
# transfer. Idempotent, so a cluster that predates the image service runs it by hand on one member
# (Galera replicates it to the others; see the README):
#   kubectl -n altostratus exec mariadb-0 -- bash /docker-entrypoint-initdb.d/20-image-database.sh
image_database_sql() {
  if declare -F docker_process_sql >/dev/null; then
    docker_process_sql --database=mysql
  else
    MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb --user=root --protocol=socket --database=mysql
  fi
}
image_database_sql <<SQL
CREATE DATABASE IF NOT EXISTS \`${IMAGE_DB_NAME}\`;
CREATE USER IF NOT EXISTS '${IMAGE_DB_USER}'@'%' IDENTIFIED BY '${IMAGE_DB_PASSWORD}';
GRANT ALL PRIVILEGES ON \`${IMAGE_DB_NAME}\`.* TO '${IMAGE_DB_USER}'@'%';
SQL
