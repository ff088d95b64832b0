// The image service's domain services, as the routes see them.
import type { ImagesService } from './domain/images.service.js';
import type { ImageDataService } from './domain/image-data.service.js';
import type { MembersService } from './domain/members.service.js';
import type { ImportService } from './domain/import.service.js';
import type { MetadefsService } from './domain/metadefs.service.js';

export interface ImageServices {
  images: ImagesService;
  data: ImageDataService;
  members: MembersService;
  imports: ImportService;
  metadefs: MetadefsService;
}
