// The image service's domain types (camelCase; wire names live in api/*.views.ts).

export type ImageStatus = 'queued' | 'saving' | 'uploading' | 'importing' | 'active' | 'deactivated' | 'killed' | 'deleted' | 'pending_delete';
export type Visibility = 'public' | 'private' | 'shared' | 'community';
export type MemberStatus = 'pending' | 'accepted' | 'rejected';

export interface ImageLocation {
  id: string;
  store: string;
  url: string;
  metadata: Record<string, unknown>;
  status: 'active' | 'pending_delete';
}

export interface Image {
  id: string;
  name: string | null;
  status: ImageStatus;
  visibility: Visibility;
  protected: boolean;
  osHidden: boolean;
  owner: string | null;
  size: number | null;
  virtualSize: number | null;
  checksum: string | null;
  osHashAlgo: string | null;
  osHashValue: string | null;
  diskFormat: string | null;
  containerFormat: string | null;
  minDisk: number;
  minRam: number;
  createdAt: Date;
  updatedAt: Date;
  /** Extra properties: Glance keeps them as strings. */
  properties: Record<string, string>;
  tags: string[];
  locations: ImageLocation[];
  uploadId: string | null;
  uploadOwner: string | null;
  uploadLeaseUntil: number | null;
  stagingLocation: string | null;
  stagingSize: number | null;
}

export interface ImageMember {
  imageId: string;
  memberId: string;
  status: MemberStatus;
  createdAt: Date;
  updatedAt: Date;
}

export interface Task {
  id: string;
  type: string;
  status: 'pending' | 'processing' | 'success' | 'failure';
  owner: string;
  imageId: string | null;
  userId: string | null;
  requestId: string | null;
  input: Record<string, unknown>;
  result: Record<string, unknown> | null;
  message: string;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date | null;
}

/** Who is asking, as the image service needs it (from the validated token). */
export interface Caller {
  projectId: string | undefined;
  userId: string | undefined;
  /** Glance's context.is_admin: the context_is_admin rule passed. */
  isAdmin: boolean;
  roles: string[];
  requestId: string;
}
