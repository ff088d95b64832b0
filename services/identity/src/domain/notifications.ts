// Keystone's CADF audit notifications (keystone/notifications.py), published on the bus.
// A failure to publish never fails the API call; it is logged, as upstream does.
import { createHash, randomUUID } from 'node:crypto';
import type { Bus } from '@alto/bus';
import type { Clock, JsonObject } from '@alto/kernel';
import type { Logger } from '@alto/runtime';

const CADF_TYPE: Record<string, string> = {
  group: 'data/security/group',
  project: 'data/security/project',
  role: 'data/security/role',
  user: 'data/security/account/user',
  domain: 'data/security/domain',
  region: 'data/security/region',
  endpoint: 'data/security/endpoint',
  service: 'data/security/service',
  policy: 'data/security/policy',
  'OS-TRUST:trust': 'data/security/trust',
  application_credential: 'data/security/credential',
  'OS-OAUTH1:consumer': 'data/security/account',
  'OS-OAUTH1:request_token': 'data/security/credential',
  'OS-OAUTH1:access_token': 'data/security/credential',
};

/** Who did it, as Keystone's audit initiator records it. */
export interface Initiator {
  userId?: string | undefined;
  userName?: string | undefined;
  projectId?: string | undefined;
  domainId?: string | undefined;
  requestId?: string | undefined;
  address?: string | undefined;
  agent?: string | undefined;
}

export type Operation = 'created' | 'updated' | 'deleted' | 'disabled';

/** pycadf's timestamp: 2026-11-21T07:00:00.123456+0000. */
function cadfTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+0000');
}

/** keystone.common.utils.resource_uuid: hex ids become dashed UUIDs, others a UUID5 of the value. */
export function resourceUuid(value: string): string {
  if (/^[0-9a-f]{32}$/i.test(value)) return `${value.slice(0, 8)}-${value.slice(8, 12)}-${value.slice(12, 16)}-${value.slice(16, 20)}-${value.slice(20)}`.toLowerCase();
  // uuid5 in the URL namespace, as keystone does for non-UUID ids
  const ns = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');
  const h = createHash('sha1').update(ns).update(value).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export class Notifier {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly bus: Bus;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly publisherId: string;
  /** The identity service's id in the catalog: the CADF observer. */
  private observerId: () => string | undefined;

  constructor(deps: { bus: Bus; clock: Clock; log: Logger; host: string; observerId: () => string | undefined }) {
    this.bus = deps.bus;
    this.clock = deps.clock;
    this.log = deps.log;
    this.publisherId = `identity.${deps.host}`;
    this.observerId = deps.observerId;
  }

  private initiatorOf(i: Initiator): JsonObject {
    const out: JsonObject = { typeURI: 'service/security/account/user', host: { address: i.address ?? null, agent: i.agent ?? null } };
    if (i.userId) {
      out.user_id = i.userId;
      out.id = resourceUuid(i.userId);
      if (i.userName) out.username = i.userName;
    }
    if (i.projectId) out.project_id = i.projectId;
    if (i.domainId) out.domain_id = i.domainId;
    if (i.requestId) out.request_id = i.requestId;
    return out;
  }

  private event(action: string, outcome: 'success' | 'failure' | 'pending', initiator: Initiator, target: JsonObject, extra: JsonObject = {}): JsonObject {
    const observer: JsonObject = { typeURI: 'service/security' };
    const obs = this.observerId();
    if (obs) observer.id = obs;
    return {
      typeURI: 'http://schemas.dmtf.org/cloud/audit/1.0/event',
      id: randomUUID(),
      eventTime: cadfTime(this.clock.nowMs()),
      eventType: 'activity',
      action,
      outcome,
      initiator: this.initiatorOf(initiator),
      target,
      observer,
      ...extra,
    };
  }

  private publish(eventType: string, payload: JsonObject, requestId: string | undefined): void {
    const p = this.bus
      .notify({ publisherId: this.publisherId, eventType, priority: 'INFO', payload, requestId })
      .catch((err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err), event_type: eventType }, 'could not publish notification'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** identity.<type>.<operation>, e.g. identity.project.created. */
  resource(operation: Operation, type: string, id: string, initiator: Initiator): void {
    const target: JsonObject = { typeURI: CADF_TYPE[type] ?? 'unknown', id };
    this.publish(`identity.${type}.${operation}`, this.event(`${operation}.${type}`, 'success', initiator, target, { resource_info: id }), initiator.requestId);
  }

  /** identity.authenticate, success or failure, for every password or token authentication. */
  authenticate(outcome: 'success' | 'failure', userId: string | undefined, initiator: Initiator): void {
    const who: Initiator = { ...initiator, userId: userId ?? initiator.userId };
    this.publish('identity.authenticate', this.event('authenticate', outcome, who, { typeURI: 'service/security/account/user' }), initiator.requestId);
  }

  /** identity.role_assignment.created / deleted. */
  roleAssignment(operation: 'created' | 'deleted', a: { roleId: string; userId?: string; groupId?: string; projectId?: string; domainId?: string; system?: boolean; inherited: boolean }, initiator: Initiator): void {
    const extra: JsonObject = { role: a.roleId, inherited_to_projects: a.inherited };
    if (a.projectId) extra.project = a.projectId;
    else if (a.domainId) extra.domain = a.domainId;
    else if (a.system) extra.system = 'all';
    if (a.userId) extra.user = a.userId;
    else if (a.groupId) extra.group = a.groupId;
    this.publish(
      `identity.role_assignment.${operation}`,
      this.event(`${operation}.role_assignment`, 'success', initiator, { typeURI: 'service/security/account/user' }, extra),
      initiator.requestId,
    );
  }

  /** Waits for notifications still being published (shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
