// Test harnesses every service's end-to-end tests share: a real cloud started through the alto
// command (embedded or split on PostgreSQL/MariaDB with RabbitMQ), the openstack CLI and
// openstacksdk runners.
export * from './cloud.js';
export * from './openstack.js';
export * from './split-cloud.js';
