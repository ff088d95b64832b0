# The database user mariabackup state transfers log in as. Sourced (not executed) by the mariadb
# image's entrypoint on the first initialisation of the data directory, so docker_process_sql
# is at hand; the joiners receive it from the donor with their first state transfer.
docker_process_sql --database=mysql <<SQL
CREATE USER IF NOT EXISTS 'mariabackup'@'localhost' IDENTIFIED BY '${GALERA_SST_PASSWORD}';
GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO 'mariabackup'@'localhost';
SQL
