// The image service's migrations, in order. Append only.
import type { FrozenMigration } from '@alto/db';
import { migration0001 } from './0001-images.js';
import { migration0002 } from './0002-metadefs.js';

export const imageMigrations: Record<string, FrozenMigration> = {
  '0001-images': migration0001,
  '0002-metadefs': migration0002,
};
