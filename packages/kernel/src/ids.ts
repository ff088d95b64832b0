// Identifiers in the shapes OpenStack uses: Keystone's 32-hex ids, Nova/Cinder's dashed UUIDs, request ids.
import { randomBytes, randomUUID } from 'node:crypto';

/** A Keystone-style id: a UUID4 without dashes (32 lowercase hex characters). */
export function newHexId(): string {
  return randomUUID().replaceAll('-', '');
}

/** A dashed UUID4, as Nova, Cinder, Glance and Neutron use for resource ids. */
export function newUuid(): string {
  return randomUUID();
}

/** A request id as oslo.context makes them: `req-` + dashed UUID4. */
export function newRequestId(): string {
  return `req-${randomUUID()}`;
}

const REQUEST_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** oslo.middleware accepts an inbound global request id only in its own format. */
export function isRequestId(value: string): boolean {
  return REQUEST_ID.test(value);
}

const HEX32 = /^[0-9a-f]{32}$/;
export function isHexId(value: string): boolean {
  return HEX32.test(value);
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A random password of letters and digits only (24 characters: about 142 bits). Nothing a shell,
 * a URL, YAML or a command line (a leading "-") could misread.
 */
export function newPassword(length = 24): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      // 248 = 4 * 62: bytes above it would favour the first letters
      if (b < 248 && out.length < length) out += ALNUM[b % 62];
    }
  }
  return out;
}
