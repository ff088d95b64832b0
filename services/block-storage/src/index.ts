// The block storage service (Cinder v3): composition, config, contracts, drivers and workers.
export * from './spi/volume-backend.js';
export * from './spi/image-transfer.js';
export * from './config.js';
export * from './plugin.js';
export { blockStorageMigrations } from './store/migrations/index.js';
export type { BlockStorageDB } from './store/schema.js';
export { FileBackend } from './drivers/file-backend.js';
export { VolumeWorker, WORKER_BINARY } from './workers/volume-worker.js';
export { VolumeScheduler } from './workers/volume-scheduler.js';
export { SCHEDULER_TOPIC, VOLUME_TOPIC, BACKUP_TOPIC } from './workers/topics.js';
export { QuotaEngine } from './domain/quotas.js';
export { imageServiceOf, type ImageServiceWiring } from './images/image-service.js';
export { connectionHandlers } from './workers/volume-connections.js';
export * from './spi/backup-driver.js';
export { PosixBackupDriver } from './drivers/posix-backup.js';
export { BackupWorker, BACKUP_WORKER_BINARY } from './workers/backup-worker.js';
export { BackupsService } from './domain/backups.service.js';
export { backupRoutes } from './api/backups.js';
