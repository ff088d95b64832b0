// The block storage service (Cinder v3): the volume backend contract for drivers.
export * from './spi/volume-backend.js';
