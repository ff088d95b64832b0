// Domain-specific configuration (/v3/domains/{id}/config): Keystone's whitelist of identity and
// LDAP options, sensitive options stored but never shown, defaults from our own configuration.
import type { CoreDeps } from './deps.js';
import type { ResourceService } from './resource.service.js';
import { DomainConfigNotFound, InvalidDomainConfig } from './resource.errors.js';
import { deleteConfigOptions, selectConfigOptions, upsertConfigOptions, type ConfigOption } from '../store/domain-config.repo.js';

/** Options a domain may set, by group (keystone.resource.core.DomainConfigManager). */
export const WHITELISTED_OPTIONS: Record<string, readonly string[]> = {
  identity: ['driver', 'list_limit'],
  ldap: [
    'url', 'user', 'suffix', 'query_scope', 'page_size', 'alias_dereferencing', 'debug_level', 'chase_referrals',
    'user_tree_dn', 'user_filter', 'user_objectclass', 'user_id_attribute', 'user_name_attribute', 'user_mail_attribute',
    'user_description_attribute', 'user_pass_attribute', 'user_enabled_attribute', 'user_enabled_invert',
    'user_enabled_mask', 'user_enabled_default', 'user_attribute_ignore', 'user_default_project_id_attribute',
    'user_enabled_emulation', 'user_enabled_emulation_dn', 'user_enabled_emulation_use_group_config',
    'user_additional_attribute_mapping', 'group_tree_dn', 'group_filter', 'group_objectclass', 'group_id_attribute',
    'group_name_attribute', 'group_members_are_ids', 'group_member_attribute', 'group_desc_attribute',
    'group_attribute_ignore', 'group_additional_attribute_mapping', 'tls_cacertfile', 'tls_cacertdir', 'use_tls',
    'tls_req_cert', 'use_pool', 'pool_size', 'pool_retry_max', 'pool_retry_delay', 'pool_connection_timeout',
    'pool_connection_lifetime', 'use_auth_pool', 'auth_pool_size', 'auth_pool_connection_lifetime',
  ],
};

/** Options stored apart and never returned. */
export const SENSITIVE_OPTIONS: Record<string, readonly string[]> = { identity: [], ldap: ['password'] };

/** keystone.conf's [ldap] option defaults, which GET /v3/domains/config/default shows. */
export const LDAP_DEFAULTS: Record<string, unknown> = {
  url: 'ldap://localhost',
  user: null,
  suffix: 'cn=example,cn=com',
  query_scope: 'one',
  page_size: 0,
  alias_dereferencing: 'default',
  debug_level: null,
  chase_referrals: null,
  user_tree_dn: null,
  user_filter: null,
  user_objectclass: 'inetOrgPerson',
  user_id_attribute: 'cn',
  user_name_attribute: 'sn',
  user_mail_attribute: 'mail',
  user_description_attribute: 'description',
  user_pass_attribute: 'userPassword',
  user_enabled_attribute: 'enabled',
  user_enabled_invert: false,
  user_enabled_mask: 0,
  user_enabled_default: 'True',
  user_attribute_ignore: ['default_project_id'],
  user_default_project_id_attribute: null,
  user_enabled_emulation: false,
  user_enabled_emulation_dn: null,
  user_enabled_emulation_use_group_config: false,
  user_additional_attribute_mapping: [],
  group_tree_dn: null,
  group_filter: null,
  group_objectclass: 'groupOfNames',
  group_id_attribute: 'cn',
  group_name_attribute: 'ou',
  group_members_are_ids: false,
  group_member_attribute: 'member',
  group_desc_attribute: 'description',
  group_attribute_ignore: [],
  group_additional_attribute_mapping: [],
  tls_cacertfile: null,
  tls_cacertdir: null,
  use_tls: false,
  tls_req_cert: 'demand',
  use_pool: true,
  pool_size: 10,
  pool_retry_max: 3,
  pool_retry_delay: 0.1,
  pool_connection_timeout: -1,
  pool_connection_lifetime: 600,
  use_auth_pool: true,
  auth_pool_size: 100,
  auth_pool_connection_lifetime: 60,
};

/** The security_compliance options any caller may read for the default domain. */
const READABLE_SECURITY_COMPLIANCE = ['password_regex', 'password_regex_description'] as const;

/** group -> option -> value, the shape of every config body and answer. */
export type DomainConfig = Record<string, Record<string, unknown>>;

export interface DomainConfigSettings {
  /** Our own defaults for the whitelisted options, by group. */
  defaults: DomainConfig;
  /** `[security_compliance]` password_regex and its description, readable by anyone. */
  securityCompliance: { password_regex?: string | undefined; password_regex_description?: string | undefined };
}

/** Python's truthiness, which Keystone's existence checks on option values use. */
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function assertValidGroupAndOption(group?: string, option?: string): void {
  if (group === undefined) return;
  if (!(group in WHITELISTED_OPTIONS) && !(group in SENSITIVE_OPTIONS)) throw InvalidDomainConfig(`Group ${group} is not supported for domain specific configurations`);
  if (option !== undefined && !WHITELISTED_OPTIONS[group]!.includes(option) && !SENSITIVE_OPTIONS[group]!.includes(option)) {
    throw InvalidDomainConfig(`Option ${option} in group ${group} is not supported for domain specific configurations`);
  }
}

function assertValidConfig(config: unknown): asserts config is DomainConfig {
  if (!isObject(config) || Object.keys(config).length === 0) throw InvalidDomainConfig('No options specified');
  for (const [group, options] of Object.entries(config)) {
    if (!isObject(options) || Object.keys(options).length === 0) throw InvalidDomainConfig(`The value of group ${group} specified in the config should be a dictionary of options`);
    for (const option of Object.keys(options)) assertValidGroupAndOption(group, option);
  }
}

function toOptions(config: DomainConfig): ConfigOption[] {
  return Object.entries(config).flatMap(([group, options]) =>
    Object.entries(options).map(([option, value]) => ({ group, option, value, sensitive: SENSITIVE_OPTIONS[group]?.includes(option) ?? false })),
  );
}

/** Options to the config shape; for a single requested option, just {option: value}. */
function toConfig(options: { group: string; option: string; value: unknown }[], requested?: string): DomainConfig | Record<string, unknown> {
  if (requested !== undefined) return options[0] ? { [options[0].option]: options[0].value } : {};
  const out: DomainConfig = {};
  for (const o of options) (out[o.group] ??= {})[o.option] = o.value;
  return out;
}

function notFoundWords(group?: string, option?: string): string {
  if (option !== undefined) return `option ${option} in group ${group}`;
  if (group !== undefined) return `group ${group}`;
  return 'any options';
}

export class DomainConfigService {
  private readonly d: CoreDeps;
  private readonly resources: ResourceService;
  private readonly settings: DomainConfigSettings;

  constructor(deps: CoreDeps, resources: ResourceService, settings: DomainConfigSettings) {
    this.d = deps;
    this.resources = resources;
    this.settings = settings;
  }

  /** The whitelisted options set for a domain (all, a group's, or one); sensitive ones never. */
  async getConfig(domainId: string, group?: string, option?: string): Promise<Record<string, unknown>> {
    assertValidGroupAndOption(group, option);
    const found = await selectConfigOptions(this.d.db, domainId, { group, option, sensitive: false });
    if (!found.length) throw DomainConfigNotFound(domainId, notFoundWords(group, option));
    return toConfig(found, option);
  }

  /** PUT: replaces the domain's whole configuration. `created` when it had none before. */
  async createConfig(domainId: string, config: unknown): Promise<{ config: Record<string, unknown>; created: boolean }> {
    await this.resources.getDomainOrThrow(domainId);
    const before = await selectConfigOptions(this.d.db, domainId);
    assertValidConfig(config);
    await this.d.db.transaction().execute(async (trx) => {
      await deleteConfigOptions(trx, domainId);
      await upsertConfigOptions(trx, domainId, toOptions(config));
    });
    this.d.invalidator.invalidate(`domain ${domainId} configuration`);
    const stored = await selectConfigOptions(this.d.db, domainId, { sensitive: false });
    return { config: toConfig(stored), created: before.length === 0 };
  }

  /**
   * PATCH: merges options into the domain's configuration. With a group (and option) in the URL,
   * the body must hold that group (option) alone, and it must exist already.
   */
  async updateConfig(domainId: string, body: unknown, group?: string, option?: string): Promise<Record<string, unknown>> {
    await this.resources.getDomainOrThrow(domainId);
    const config = group !== undefined && option !== undefined ? { [group]: body } : body;
    assertValidConfig(config);
    assertValidGroupAndOption(group, option);
    if (group !== undefined) {
      const groups = Object.keys(config);
      if (groups.length !== 1 || (option !== undefined && Object.keys(config[group] ?? {}).length !== 1)) {
        throw InvalidDomainConfig(
          option !== undefined
            ? `Trying to update option ${option} in group ${group}, so that, and only that, option must be specified  in the config`
            : `Trying to update group ${group}, so that, and only that, group must be specified in the config`,
        );
      }
      if (!(group in config)) throw InvalidDomainConfig(`request to update group ${group}, but config provided contains group ${groups[0]} instead`);
      if (option !== undefined && !(option in config[group]!)) {
        throw InvalidDomainConfig(`Trying to update option ${option} in group ${group}, but config provided contains option ${Object.keys(config[group]!)[0]} instead`);
      }
      if (!(await selectConfigOptions(this.d.db, domainId, { group, option })).length) throw DomainConfigNotFound(domainId, notFoundWords(group, option));
    }
    await this.d.db.transaction().execute((trx) => upsertConfigOptions(trx, domainId, toOptions(config)));
    this.d.invalidator.invalidate(`domain ${domainId} configuration`);
    return this.getConfig(domainId);
  }

  /** DELETE: all options, a group or one option; a named group or option must exist. */
  async deleteConfig(domainId: string, group?: string, option?: string): Promise<void> {
    await this.resources.getDomainOrThrow(domainId);
    assertValidGroupAndOption(group, option);
    if (group !== undefined) {
      const current = await selectConfigOptions(this.d.db, domainId, { group });
      if (!current.length) throw DomainConfigNotFound(domainId, notFoundWords(group));
      if (option !== undefined && !truthy(current.find((o) => o.option === option)?.value)) throw DomainConfigNotFound(domainId, notFoundWords(group, option));
    }
    await deleteConfigOptions(this.d.db, domainId, { group, option });
    this.d.invalidator.invalidate(`domain ${domainId} configuration`);
  }

  /** GET /v3/domains/config[/{group}[/{option}]]/default: whitelisted options only. */
  getDefault(group?: string, option?: string): Record<string, unknown> {
    assertValidGroupAndOption(group, option);
    if (group !== undefined && option !== undefined && !WHITELISTED_OPTIONS[group]!.includes(option)) {
      throw InvalidDomainConfig(`Reading the default for option ${option} in group ${group} is not supported`);
    }
    const groups = group !== undefined ? [group] : Object.keys(WHITELISTED_OPTIONS);
    const options = groups.flatMap((g) =>
      (option !== undefined ? [option] : WHITELISTED_OPTIONS[g]!).map((o) => ({ group: g, option: o, value: this.settings.defaults[g]?.[o] ?? null })),
    );
    return toConfig(options, option);
  }

  /** GET /v3/domains/{id}/config/security_compliance[/{option}]: the password rules, default domain only. */
  getSecurityComplianceConfig(domainId: string, option?: string): Record<string, unknown> {
    // COMPAT(keystone): these two reasons end with a period of their own, so the message has two
    if (domainId !== this.d.defaultDomainId) {
      throw InvalidDomainConfig('Reading security compliance information for any domain other than the default domain is not allowed or supported.');
    }
    if (option !== undefined && !(READABLE_SECURITY_COMPLIANCE as readonly string[]).includes(option)) {
      throw InvalidDomainConfig('Reading security compliance values other than password_regex and password_regex_description is not allowed.');
    }
    const sc = this.settings.securityCompliance;
    const options = (option !== undefined ? [option as (typeof READABLE_SECURITY_COMPLIANCE)[number]] : READABLE_SECURITY_COMPLIANCE).map((o) => ({
      group: 'security_compliance',
      option: o,
      value: sc[o] ?? null,
    }));
    return toConfig(options, option);
  }
}
