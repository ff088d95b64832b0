// /v3/domains/{domain_id}/config (whole, by group, by option), the security_compliance group any
// caller may read, and /v3/domains/config/.../default.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import { PathId, tokenCredentials, type Frame } from './common.js';

const Params = Type.Object({ domain_id: PathId });
const GroupParams = Type.Object({ domain_id: PathId, group: PathId });
const OptionParams = Type.Object({ domain_id: PathId, group: PathId, option: PathId });
const SecurityOptionParams = Type.Object({ domain_id: PathId, option: PathId });
const DefaultGroupParams = Type.Object({ group: PathId });
const DefaultOptionParams = Type.Object({ group: PathId, option: PathId });

/** Keystone reads `config` from any JSON body, and an absent or unreadable body as {}. */
function configOf(body: unknown): unknown {
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as { config?: unknown }).config : undefined;
}

type Scope = { domain_id: string; group?: string; option?: string };

export function domainConfigRoutes(s: IdentityServices, _frame: Frame): AnyRoute[] {
  // the same three verbs at three depths; only PUT is limited to the whole configuration
  const atDepth = (url: string, params: typeof Params | typeof GroupParams | typeof OptionParams): AnyRoute[] => [
    defineRoute({
      method: 'GET',
      url,
      params,
      policy: 'identity:get_domain_config',
      credentials: tokenCredentials,
      errors: [403, 404],
      handler: async ({ params: p }) => {
        const { domain_id, group, option } = p as Scope;
        // no domain lookup first: a missing domain reads as a missing configuration, as upstream
        return { config: await s.domainConfigs.getConfig(domain_id, group, option) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url,
      params,
      policy: 'identity:update_domain_config',
      credentials: tokenCredentials,
      errors: [403, 404],
      handler: async ({ params: p, body }) => {
        const { domain_id, group, option } = p as Scope;
        return { config: await s.domainConfigs.updateConfig(domain_id, configOf(body), group, option) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url,
      params,
      policy: 'identity:delete_domain_config',
      credentials: tokenCredentials,
      status: 204,
      errors: [403, 404],
      handler: async ({ params: p }) => {
        const { domain_id, group, option } = p as Scope;
        await s.domainConfigs.deleteConfig(domain_id, group, option);
        return undefined;
      },
    }),
  ];
  return [
    defineRoute({
      method: 'PUT',
      url: '/v3/domains/:domain_id/config',
      params: Params,
      policy: 'identity:create_domain_config',
      credentials: tokenCredentials,
      errors: [403, 404],
      handler: async ({ params, body, reply }) => {
        const r = await s.domainConfigs.createConfig(params.domain_id, configOf(body));
        void reply.code(r.created ? 201 : 200);
        return { config: r.config };
      },
    }),
    ...atDepth('/v3/domains/:domain_id/config', Params),
    ...atDepth('/v3/domains/:domain_id/config/:group', GroupParams),
    ...atDepth('/v3/domains/:domain_id/config/:group/:option', OptionParams),
    // the password rules are readable by anyone (Keystone's own policy for this group)
    defineRoute({
      method: 'GET',
      url: '/v3/domains/:domain_id/config/security_compliance',
      params: Params,
      policy: 'identity:get_security_compliance_domain_config',
      credentials: tokenCredentials,
      errors: [403],
      handler: async ({ params }) => ({ config: s.domainConfigs.getSecurityComplianceConfig(params.domain_id) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/domains/:domain_id/config/security_compliance/:option',
      params: SecurityOptionParams,
      policy: 'identity:get_security_compliance_domain_config',
      credentials: tokenCredentials,
      errors: [403],
      handler: async ({ params }) => ({ config: s.domainConfigs.getSecurityComplianceConfig(params.domain_id, params.option) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/domains/config/default',
      policy: 'identity:get_domain_config_default',
      credentials: tokenCredentials,
      errors: [],
      handler: async () => ({ config: s.domainConfigs.getDefault() }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/domains/config/:group/default',
      params: DefaultGroupParams,
      policy: 'identity:get_domain_config_default',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ params }) => ({ config: s.domainConfigs.getDefault(params.group) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/domains/config/:group/:option/default',
      params: DefaultOptionParams,
      policy: 'identity:get_domain_config_default',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ params }) => ({ config: s.domainConfigs.getDefault(params.group, params.option) }),
    }),
  ];
}
