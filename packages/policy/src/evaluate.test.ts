// Evaluating compiled checks with oslo's semantics: roles, credentials paths, literals, rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyEvaluationError } from './errors.js';
import { compileCheck } from './evaluate.js';
import type { CompiledCheck, Credentials, RuleResolver, Target } from './evaluate.js';
import { parseRule } from './parser.js';

const check = (rule: string): CompiledCheck => compileCheck(parseRule(rule));
const run = (rule: string, target: Target, creds: Credentials, resolve?: RuleResolver): boolean => check(rule).evaluate(target, creds, resolve);

describe('compiled checks', () => {
  it('matches roles case-insensitively, with interpolated role names', () => {
    assert.equal(run('role:admin', {}, { roles: ['Admin'] }), true);
    assert.equal(run('role:READER', {}, { roles: ['reader'] }), true);
    assert.equal(run('role:%(role)s', { role: 'Member' }, { roles: ['member'] }), true);
    assert.equal(run('role:%(role)s', {}, { roles: ['member'] }), false);
    assert.equal(run('role:admin', {}, {}), false);
  });

  it('compares credentials attributes with str() of the interpolated target', () => {
    const creds = { user_id: 'u1', project_id: 'p1', is_admin: 1, is_admin_project: true, system_scope: null };
    assert.equal(run('user_id:%(user_id)s', { user_id: 'u1' }, creds), true);
    assert.equal(run('project_id:%(target.project.id)s', { 'target.project.id': 'p2' }, creds), false);
    assert.equal(run('is_admin:1', {}, creds), true);
    assert.equal(run('is_admin_project:True', {}, creds), true);
    assert.equal(run('is_admin_project:true', {}, creds), false);
    // None on both sides matches, as in oslo: str(None) == 'None'
    assert.equal(run('system_scope:%(x)s', { x: null }, creds), true);
    assert.equal(run('missing_attr:x', {}, creds), false);
  });

  it('walks dotted paths into nested credentials and matches any element of a list', () => {
    const creds = { token: { project: { domain: { id: 'd1' } }, roles: [{ name: 'admin' }, { name: 'member' }] }, groups: ['g1', 'g2'] };
    assert.equal(run('token.project.domain.id:%(d)s', { d: 'd1' }, creds), true);
    assert.equal(run('token.roles.name:member', {}, creds), true);
    assert.equal(run('token.roles.name:reader', {}, creds), false);
    assert.equal(run('groups:g2', {}, creds), true);
    assert.equal(run('token.missing.id:x', {}, creds), false);
  });

  it('raises where oslo raises: a path through a non-dict, roles that are not strings, bad literals', () => {
    assert.throws(() => run('user_id.x:y', {}, { user_id: 'u1' }), PolicyEvaluationError);
    assert.throws(() => run('token.id:y', {}, { token: null }), PolicyEvaluationError);
    assert.throws(() => run('role:a', {}, { roles: null }), PolicyEvaluationError);
    assert.throws(() => run('role:a', {}, { roles: ['a', 1] }), PolicyEvaluationError);
    const lenient = compileCheck(parseRule('2fa:%(x)s', { mode: 'lenient' }));
    assert.equal(lenient.evaluate({}, {}), false, 'a missing key is False before the literal is read');
    assert.throws(() => lenient.evaluate({ x: 'y' }, {}), PolicyEvaluationError);
  });

  it('uses a literal left side as a value, not a credentials key', () => {
    assert.equal(run("'member':%(target.role.name)s", { 'target.role.name': 'member' }, {}), true);
    assert.equal(run("'member':%(target.role.name)s", { 'target.role.name': 'admin' }, {}), false);
    assert.equal(run('True:%(enabled)s', { enabled: true }, {}), true);
    assert.equal(run('None:%(target.project.domain_id)s', { 'target.project.domain_id': null }, {}), true);
    assert.equal(run('1.5:%(f)s', { f: 1.5 }, {}), true);
  });

  it('short-circuits and, or and not', () => {
    const creds = { roles: ['admin'] };
    assert.equal(run('role:admin or user_id.x:y', {}, creds), true, 'the raising right side is never reached');
    assert.equal(run('role:nope and user_id.x:y', {}, creds), false);
    assert.equal(run('not role:admin', {}, creds), false);
    assert.equal(run('@', {}, {}), true);
    assert.equal(run('!', {}, {}), false);
  });

  it('follows rule: references through the resolver; unknown names are False', () => {
    const rules = new Map<string, CompiledCheck>([
      ['admin', check('role:admin')],
      ['owner', check('user_id:%(user_id)s')],
      ['either', check('rule:admin or rule:owner')],
      ['loop', check('rule:loop')],
    ]);
    const resolve: RuleResolver = (name) => rules.get(name);
    assert.equal(run('rule:either', { user_id: 'u1' }, { user_id: 'u1', roles: [] }, resolve), true);
    assert.equal(run('rule:either', { user_id: 'u2' }, { user_id: 'u1', roles: [] }, resolve), false);
    assert.equal(run('rule:nope', {}, {}, resolve), false);
    assert.equal(run('rule:admin', {}, { roles: ['admin'] }), false, 'no resolver, no rules');
    assert.throws(() => run('rule:loop', {}, {}, resolve), PolicyEvaluationError);
  });

  it('runs service-registered checks built once per check', () => {
    let built = 0;
    const factory = (_kind: string, match: string) => {
      built++;
      return (target: Target) => target.shared === (match === 'shared');
    };
    const compiled = compileCheck(parseRule('field:shared', { customKinds: new Set(['field']) }), { customChecks: new Map([['field', factory]]) });
    assert.equal(compiled.evaluate({ shared: true }, {}), true);
    assert.equal(compiled.evaluate({ shared: false }, {}), false);
    assert.equal(built, 1);
  });
});
