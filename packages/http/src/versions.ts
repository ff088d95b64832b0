// Version discovery documents: the entry shape Keystone, Nova, Cinder and Placement answer at
// their roots (`{"versions": [...]}` or Keystone's `{"versions": {"values": [...]}}`).
export interface ApiVersion {
  /** e.g. `v3.14`, `v2.1`. */
  id: string;
  /** Keystone writes `stable`; Nova and Cinder `CURRENT`, `SUPPORTED`, `DEPRECATED`. */
  status: string;
  /** ISO date of the last change to this version. */
  updated: string;
  /** Where the version lives, relative to the service's base URL, e.g. `/v3/`. */
  path: string;
  /** e.g. `application/vnd.openstack.identity-v3+json`. */
  mediaType: string;
  /** Microversion range, for services that have microversions. */
  minVersion?: string;
  version?: string;
}

export function versionEntry(baseUrl: string, v: ApiVersion): Record<string, unknown> {
  return {
    id: v.id,
    status: v.status,
    updated: v.updated,
    links: [{ rel: 'self', href: `${baseUrl}${v.path}` }],
    'media-types': [{ base: 'application/json', type: v.mediaType }],
    ...(v.minVersion !== undefined ? { min_version: v.minVersion } : {}),
    ...(v.version !== undefined ? { version: v.version } : {}),
  };
}
