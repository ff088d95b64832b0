// The block storage service's migrations, in order. Append only.
import type { FrozenMigration } from '@alto/db';
import { migration0001 } from './0001-initial.js';
import { migration0002 } from './0002-api.js';
import { migration0003 } from './0003-list-index.js';

export const blockStorageMigrations: Record<string, FrozenMigration> = {
  '0001-initial': migration0001,
  '0002-api': migration0002,
  '0003-list-index': migration0003,
};
