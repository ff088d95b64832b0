// @alto/bus: the Bus contract (RPC call/cast/serve, notifications), its in-process and RabbitMQ
// implementations. The conformance suite is `@alto/bus/conformance` (it loads node:test).
export * from './bus.js';
export * from './options.js';
export * from './transport-url.js';
export * from './create-bus.js';
export { InProcessBroker, type InProcessBrokerOptions } from './in-process.js';
export { rabbitEndpoints, reconnectDelayMs, type RabbitEndpoint } from './amqp.js';
export { OSLO_PING_METHOD } from './messaging-bus.js';
export { osloTimestamp, GENERIC_REMOTE_ERROR_CODE } from './message.js';
