#!/usr/bin/python3
"""Record what upstream Keystone answers, as JSON fixtures for services/identity.

Drives a running upstream Keystone (see keystone-ref-start.sh here, or
/work/shared/tools/keystone-ref/start.sh) through a scripted scenario and writes one JSON
file per API area to services/identity/fixtures/upstream/. Each file is an array of
exchanges: {name, note?, request: {method, path, headers, body}, response: {status,
headers, body}}. Token values never appear: request headers name the token that was used
("<admin>", "<member-of-demo>" ...), x-subject-token / openstack-auth-receipt response
headers are recorded as "<present>". Ids and timestamps are kept as upstream sent them.

    /usr/bin/python3 tools/record-upstream/keystone.py --url http://127.0.0.1:35357 --password secret
        [--ks-dir /tmp/keystone-rec]   # state dir of the reference: its fernet keys let us
                                        # mint a genuinely expired token, its uwsgi.log holds
                                        # notifications when started with KS_NOTIFY=1
        [--notifications]              # also record notifications.json (needs KS_NOTIFY=1)
        [--commit]                     # git commit the fixtures afterwards

Re-runnable: it first deletes whatever a previous run left behind (all names start with
"rec-" except the persona project/users demo, demo-member, demo-reader).
Runs under Debian's /usr/bin/python3 (requests, and keystone's own modules for the expired
token); started with another python3 it re-executes itself there.
"""
import argparse
import base64
import datetime
import json
import os
import re
import subprocess
import sys
import time

DEBIAN_PYTHON = '/usr/bin/python3'
if (os.path.exists(DEBIAN_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON)
        and not os.environ.get('KS_RECORDER_REEXEC')):
    # keystone's own modules (needed to mint the expired token) live in Debian's python
    os.environ['KS_RECORDER_REEXEC'] = '1'
    os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)

import requests  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# this file is called keystone.py: keep its folder off the path so that `import keystone`
# finds upstream Keystone (used to mint the expired token)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != HERE]
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
DEFAULT_OUT = os.path.join(REPO, 'services', 'identity', 'fixtures', 'upstream')

# Response headers that are transport noise from uwsgi (start.sh adds Connection: close).
DROP_RESPONSE_HEADERS = {'connection'}
# Headers whose values are secrets: only their presence is recorded.
SECRET_HEADERS = {'x-subject-token', 'openstack-auth-receipt', 'x-auth-token'}
PREFIX = 'rec-'
PERSONA_PROJECT = 'demo'
PERSONA_USERS = ('demo-member', 'demo-reader')
NO_BODY = object()
ELIDE_OVER = 4096


def elide(value):
    """(changed, value) with every string longer than ELIDE_OVER shortened, so that the
    fixtures stay readable (the 413 probes create a project with a 114 KB description)."""
    if isinstance(value, str) and len(value) > ELIDE_OVER:
        return True, '%s...<elided: %d characters in all>' % (value[:64], len(value))
    if isinstance(value, dict):
        changed, out = False, {}
        for k, v in value.items():
            c, out[k] = elide(v)
            changed = changed or c
        return changed, out
    if isinstance(value, list):
        changed, out = False, []
        for v in value:
            c, v2 = elide(v)
            changed = changed or c
            out.append(v2)
        return changed, out
    return False, value


class Recorder:
    def __init__(self, url, password, out_dir, ks_dir):
        self.url = url.rstrip('/')
        self.password = password
        self.out_dir = out_dir
        self.ks_dir = ks_dir
        self.tokens = {}      # label -> token value
        self.areas = {}       # area -> [exchange]
        self.ids = {}         # handy ids found on the way
        self.http = requests.Session()
        self.mismatches = []

    # ------------------------------------------------------------------ plumbing
    def _token_value(self, label):
        if label is None:
            return None
        if label.startswith('literal:'):
            return label[len('literal:'):]
        return self.tokens[label]

    def _scrub(self, text):
        for label, value in self.tokens.items():
            if value and value in text:
                text = text.replace(value, '<token:%s>' % label)
        return text

    def call(self, area, name, method, path, *, token='admin', subject=None, body=NO_BODY,
             raw=None, headers=None, note=None, expect=None, record=True, raw_desc=None):
        """One HTTP exchange. token/subject: a label from self.tokens, None (header not
        sent) or 'literal:<value>' for a non-token value that is recorded as is."""
        req_headers = {}
        rec_headers = {}
        if token is not None:
            req_headers['X-Auth-Token'] = self._token_value(token)
            rec_headers['X-Auth-Token'] = (token[len('literal:'):] if token.startswith('literal:')
                                           else '<%s>' % token)
        if subject is not None:
            req_headers['X-Subject-Token'] = self._token_value(subject)
            rec_headers['X-Subject-Token'] = (subject[len('literal:'):] if subject.startswith('literal:')
                                              else '<%s>' % subject)
        data = None
        rec_body = None
        if body is not NO_BODY:
            data = json.dumps(body).encode()
            req_headers['Content-Type'] = 'application/json'
            rec_headers['Content-Type'] = 'application/json'
            rec_body = body
        elif raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
            if raw_desc is not None:
                rec_body = raw_desc
            else:
                rec_body = data.decode('utf-8', 'replace')
        headers = dict(headers or {})
        headers.setdefault('Accept', 'application/json')
        for k, v in headers.items():
            # None: header not sent at all (requests drops headers whose value is None)
            req_headers[k] = v
            if v is None:
                rec_headers.pop(k, None)
            else:
                rec_headers[k] = v
        resp = None
        for attempt in range(5):
            try:
                resp = self.http.request(method, self.url + path, data=data,
                                         headers=req_headers, allow_redirects=False, timeout=60)
                break
            except requests.ConnectionError as e:
                if 'Connection aborted' in str(e):
                    # the server took the request and closed the socket without answering
                    # (uwsgi does this when keystone raises out of its error handler)
                    return self._no_response(area, name, method, path, rec_headers, rec_body,
                                             note, expect, record, str(e))
                time.sleep(0.5 * (attempt + 1))
        if resp is None:
            raise SystemExit('no answer from %s%s' % (self.url, path))
        resp_headers = {}
        for k, v in resp.headers.items():
            lk = k.lower()
            if lk in DROP_RESPONSE_HEADERS:
                continue
            resp_headers[lk] = '<present>' if lk in SECRET_HEADERS else v
        text = resp.content.decode('utf-8', 'replace')
        rbody = None
        if text:
            try:
                rbody = json.loads(self._scrub(text))
            except ValueError:
                rbody = self._scrub(text)
        exchange = {'name': name}
        if note:
            exchange['note'] = note
        elided, rec_rbody = elide(rbody)
        if elided:
            exchange['elided'] = ('strings longer than %d characters in the response body are '
                                  'shortened here; content-length is what upstream sent'
                                  % ELIDE_OVER)
        exchange['request'] = {'method': method, 'path': path, 'headers': rec_headers,
                               'body': rec_body}
        exchange['response'] = {'status': resp.status_code, 'headers': resp_headers,
                                'body': rec_rbody}
        if record:
            self.areas.setdefault(area, []).append(exchange)
        flag = ''
        if expect is not None and resp.status_code != expect:
            flag = '   <-- expected %s' % expect
            self.mismatches.append('%s / %s: %s (expected %s)' % (area, name, resp.status_code, expect))
        print('%-18s %3d %-6s %-60s %s%s' % (area, resp.status_code, method, path[:60], name, flag))
        resp.json_body = rbody if isinstance(rbody, (dict, list)) else None
        return resp

    def _no_response(self, area, name, method, path, rec_headers, rec_body, note, expect,
                     record, error):
        exchange = {'name': name}
        if note:
            exchange['note'] = note
        exchange['request'] = {'method': method, 'path': path, 'headers': rec_headers,
                               'body': rec_body}
        exchange['response'] = {'status': None, 'headers': {}, 'body': None,
                                'error': 'connection closed without a response (%s)'
                                % error.split(':')[0].strip("('")}
        if record:
            self.areas.setdefault(area, []).append(exchange)
        print('%-18s --- %-6s %-60s %s   <-- no response' % (area, method, path[:60], name))
        if expect is not None:
            self.mismatches.append('%s / %s: no response (expected %s)' % (area, name, expect))

        class NoResponse:
            status_code = None
            json_body = None
            headers = {}
            text = ''
        return NoResponse()

    def issue(self, label, auth, area=None, name=None, note=None, query=''):
        """POST /v3/auth/tokens and keep the token under label."""
        resp = self.call(area or 'setup', name or ('issue %s token' % label), 'POST',
                         '/v3/auth/tokens' + query, token=None, body={'auth': auth},
                         note=note, record=area is not None)
        if resp.status_code != 201:
            raise SystemExit('could not issue %s token: %s %s' % (label, resp.status_code, resp.text))
        self.tokens[label] = resp.headers['X-Subject-Token']
        return resp

    def write(self):
        os.makedirs(self.out_dir, exist_ok=True)
        for area, exchanges in self.areas.items():
            if area in ('setup', 'cleanup', 'notification-triggers'):
                continue
            path = os.path.join(self.out_dir, area + '.json')
            with open(path, 'w') as f:
                json.dump(exchanges, f, indent=2, ensure_ascii=False)
                f.write('\n')
            print('wrote %s (%d exchanges)' % (os.path.relpath(path, REPO), len(exchanges)))

    # ------------------------------------------------------------------ helpers
    def pw_auth(self, user, password, scope=None, domain='default'):
        ident = {'methods': ['password'],
                 'password': {'user': {'name': user, 'domain': {'id': domain},
                                       'password': password}}}
        auth = {'identity': ident}
        if scope is not None:
            auth['scope'] = scope
        return auth

    def get_json(self, path, token='admin'):
        return self.call('setup', 'GET ' + path, 'GET', path, token=token, record=False).json_body

    def find(self, collection, key, name, extra=''):
        body = self.get_json('/v3/%s?name=%s%s' % (collection, name, extra))
        return [x for x in body[key] if x['name'] == name]

    def quiet(self, method, path, body=NO_BODY, token='admin'):
        return self.call('cleanup', '%s %s' % (method, path), method, path, token=token,
                         body=body, record=False)

    # ------------------------------------------------------------------ scenario
    def run(self, notifications):
        self.bootstrap_tokens()
        self.cleanup()
        self.version_discovery()
        self.setup_fixtures()
        self.auth_tokens()
        self.auth_validation()
        self.auth_catalog_and_scopes()
        self.domains()
        self.projects()
        self.users()
        self.roles()
        self.implied_roles()
        self.role_assignments()
        self.regions()
        self.services()
        self.endpoints()
        self.personas()
        self.errors()
        if notifications:
            self.notifications()
        self.cleanup()

    def bootstrap_tokens(self):
        self.issue('admin', self.pw_auth('admin', self.password,
                                         {'project': {'name': 'admin', 'domain': {'id': 'default'}}}))
        tok = self.call('setup', 'validate admin', 'GET', '/v3/auth/tokens', subject='admin',
                        record=False).json_body['token']
        self.ids['admin_user'] = tok['user']['id']
        self.ids['admin_project'] = tok['project']['id']
        for r in self.get_json('/v3/roles')['roles']:
            self.ids['role_' + r['name']] = r['id']
        for s in self.get_json('/v3/services')['services']:
            if s['type'] == 'identity':
                self.ids['identity_service'] = s['id']

    def cleanup(self):
        """Remove what an earlier run created, so that a re-run starts from the same state."""
        ours = lambda n: n.startswith(PREFIX) or n in PERSONA_USERS or n == PERSONA_PROJECT
        for u in self.get_json('/v3/users')['users']:
            if ours(u['name']):
                self.quiet('DELETE', '/v3/users/' + u['id'])
        for g in self.get_json('/v3/groups')['groups']:
            if ours(g['name']):
                self.quiet('DELETE', '/v3/groups/' + g['id'])
        # projects: children first
        for _ in range(4):
            projects = [p for p in self.get_json('/v3/projects')['projects'] if ours(p['name'])]
            parents = {p['parent_id'] for p in projects}
            for p in projects:
                if p['id'] not in parents:
                    self.quiet('DELETE', '/v3/projects/' + p['id'])
        for r in self.get_json('/v3/roles')['roles']:
            if ours(r['name']):
                self.quiet('DELETE', '/v3/roles/' + r['id'])
        for d in self.get_json('/v3/domains')['domains']:
            if ours(d['name']):
                for r in self.get_json('/v3/roles?domain_id=' + d['id'])['roles']:
                    self.quiet('DELETE', '/v3/roles/' + r['id'])
                self.quiet('PATCH', '/v3/domains/' + d['id'], {'domain': {'enabled': False}})
                self.quiet('DELETE', '/v3/domains/' + d['id'])
        for s in self.get_json('/v3/services')['services']:
            if ours(s.get('name', '') or '') or ours(s['type']):
                for e in self.get_json('/v3/endpoints?service_id=' + s['id'])['endpoints']:
                    self.quiet('DELETE', '/v3/endpoints/' + e['id'])
                self.quiet('DELETE', '/v3/services/' + s['id'])
        for _ in range(3):
            for r in self.get_json('/v3/regions')['regions']:
                if r['id'] != 'RegionOne' and (ours(r['id']) or ours(r.get('description') or '')):
                    self.quiet('DELETE', '/v3/regions/' + r['id'])

    # ------------------------------------------------------------------ areas
    def version_discovery(self):
        A = 'version-discovery'
        self.call(A, 'GET / (multiple choices)', 'GET', '/', token=None, expect=300)
        self.call(A, 'GET / without Accept', 'GET', '/', token=None, headers={'Accept': None})
        self.call(A, 'GET /v3', 'GET', '/v3', token=None, expect=200)
        self.call(A, 'GET /v3/', 'GET', '/v3/', token=None, expect=200)
        self.call(A, 'HEAD /v3', 'HEAD', '/v3', token=None)
        self.call(A, 'GET /v3 with a garbage X-Auth-Token (not validated)', 'GET', '/v3',
                  token='literal:garbage')
        self.call(A, 'GET /v3 Accept application/json-home', 'GET', '/v3', token=None,
                  headers={'Accept': 'application/json-home'})
        self.call(A, 'GET / Accept application/json-home', 'GET', '/', token=None,
                  headers={'Accept': 'application/json-home'})
        self.call(A, 'GET /v2.0 (removed API)', 'GET', '/v2.0', token=None)
        self.call(A, 'GET /v2.0/', 'GET', '/v2.0/', token=None)
        self.call(A, 'GET /v3/unknown-path (no token)', 'GET', '/v3/unknown-path', token=None)
        self.call(A, 'GET /v3/unknown-path (admin token)', 'GET', '/v3/unknown-path')
        self.call(A, 'GET /unknown-path', 'GET', '/unknown-path', token=None)
        self.call(A, 'PATCH /v3/auth/tokens (method not allowed)', 'PATCH', '/v3/auth/tokens',
                  body={})
        self.call(A, 'PUT /v3/auth/tokens (method not allowed)', 'PUT', '/v3/auth/tokens',
                  token=None)
        self.call(A, 'POST /v3 (method not allowed)', 'POST', '/v3', token=None, body={})
        self.call(A, 'DELETE /v3/projects (collection)', 'DELETE', '/v3/projects',
                  note='upstream bug: Flask answers 405 but keystone\'s after-request RBAC '
                  'assertion fails on it, the error escapes and uwsgi closes the connection')
        self.call(A, 'POST / (method not allowed)', 'POST', '/', token=None, body={})

    def setup_fixtures(self):
        """Persona project and users; plus users for the auth failure cases."""
        S = 'setup'
        demo = self.call(S, 'create demo', 'POST', '/v3/projects', record=False, expect=201,
                         body={'project': {'name': PERSONA_PROJECT, 'domain_id': 'default',
                                           'description': 'persona project'}}).json_body['project']
        self.ids['demo'] = demo['id']
        for uname, role in (('demo-member', 'member'), ('demo-reader', 'reader')):
            u = self.call(S, 'create ' + uname, 'POST', '/v3/users', record=False, expect=201,
                          body={'user': {'name': uname, 'domain_id': 'default',
                                         'password': 'pw-' + uname,
                                         'default_project_id': demo['id']}}).json_body['user']
            self.ids[uname] = u['id']
            self.call(S, 'grant ' + role, 'PUT', '/v3/projects/%s/users/%s/roles/%s'
                      % (demo['id'], u['id'], self.ids['role_' + role]), record=False, expect=204)
        u = self.call(S, 'create rec-disabled', 'POST', '/v3/users', record=False, expect=201,
                      body={'user': {'name': 'rec-disabled', 'domain_id': 'default',
                                     'password': 'pw-disabled', 'enabled': False}}).json_body['user']
        self.ids['rec-disabled'] = u['id']
        u = self.call(S, 'create rec-norole', 'POST', '/v3/users', record=False, expect=201,
                      body={'user': {'name': 'rec-norole', 'domain_id': 'default',
                                     'password': 'pw-norole'}}).json_body['user']
        self.ids['rec-norole'] = u['id']
        u = self.call(S, 'create rec-mfa', 'POST', '/v3/users', record=False, expect=201,
                      body={'user': {'name': 'rec-mfa', 'domain_id': 'default',
                                     'password': 'pw-mfa',
                                     'options': {'multi_factor_auth_enabled': True,
                                                 'multi_factor_auth_rules': [['password', 'totp']]}}}
                      ).json_body['user']
        self.ids['rec-mfa'] = u['id']
        self.call(S, 'create rec-mfa2', 'POST', '/v3/users', record=False, expect=201,
                  body={'user': {'name': 'rec-mfa2', 'domain_id': 'default', 'password': 'pw-mfa2',
                                 'options': {'multi_factor_auth_enabled': True,
                                             'multi_factor_auth_rules': [
                                                 ['password', 'application_credential']]}}})
        self.call(S, 'grant admin a role on domain Default', 'PUT',
                  '/v3/domains/default/users/%s/roles/%s' % (self.ids['admin_user'],
                                                            self.ids['role_admin']), record=False)
        p = self.call(S, 'create rec-disabled-project', 'POST', '/v3/projects', record=False,
                      expect=201, body={'project': {'name': 'rec-disabled-project',
                                                    'domain_id': 'default', 'enabled': False}}
                      ).json_body['project']
        self.ids['rec-disabled-project'] = p['id']
        self.call(S, 'grant admin on disabled project', 'PUT', '/v3/projects/%s/users/%s/roles/%s'
                  % (p['id'], self.ids['admin_user'], self.ids['role_admin']), record=False)

    def auth_tokens(self):
        A = 'auth-tokens'
        dflt = {'id': 'default'}
        self.issue('admin-unscoped', self.pw_auth('admin', self.password), A,
                   'password, unscoped (user name + domain id)')
        self.call(A, 'password, unscoped, user by id', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['password'], 'password': {
                      'user': {'id': self.ids['admin_user'], 'password': self.password}}}}},
                  expect=201)
        self.call(A, 'password, unscoped, user domain by name', 'POST', '/v3/auth/tokens',
                  token=None, body={'auth': {'identity': {'methods': ['password'], 'password': {
                      'user': {'name': 'admin', 'domain': {'name': 'Default'},
                               'password': self.password}}}}}, expect=201)
        self.call(A, 'password, project-scoped by project id', 'POST', '/v3/auth/tokens',
                  token=None, body={'auth': self.pw_auth(
                      'admin', self.password, {'project': {'id': self.ids['admin_project']}})},
                  expect=201)
        self.call(A, 'password, project-scoped by name + domain name', 'POST', '/v3/auth/tokens',
                  token=None, body={'auth': self.pw_auth(
                      'admin', self.password,
                      {'project': {'name': 'admin', 'domain': {'name': 'Default'}}})}, expect=201)
        self.issue('admin-domain', self.pw_auth('admin', self.password, {'domain': dflt}), A,
                   'password, domain-scoped by domain id',
                   note='setup granted admin the admin role on domain Default (bootstrap does not)')
        self.issue('admin-system', self.pw_auth('admin', self.password, {'system': {'all': True}}),
                   A, 'password, system-scoped {"system":{"all":true}}')
        self.issue('member-of-demo', self.pw_auth('demo-member', 'pw-demo-member',
                                                  {'project': {'id': self.ids['demo']}}),
                   A, 'password, project-scoped, member persona')
        self.issue('reader-of-demo', self.pw_auth('demo-reader', 'pw-demo-reader',
                                                  {'project': {'id': self.ids['demo']}}),
                   A, 'password, project-scoped, reader persona (role reader only)')
        self.call(A, 'password, project-scoped, ?nocatalog', 'POST', '/v3/auth/tokens?nocatalog',
                  token=None, body={'auth': self.pw_auth(
                      'admin', self.password, {'project': {'id': self.ids['admin_project']}})},
                  expect=201)
        self.call(A, 'password, project-scoped, ?nocatalog=0', 'POST',
                  '/v3/auth/tokens?nocatalog=0', token=None, body={'auth': self.pw_auth(
                      'admin', self.password, {'project': {'id': self.ids['admin_project']}})})
        self.call(A, 'token method: rescope unscoped token to a project', 'POST', '/v3/auth/tokens',
                  token=None, body={'auth': {'identity': {'methods': ['token'], 'token': {
                      'id': self.tokens['admin-unscoped']}},
                      'scope': {'project': {'id': self.ids['admin_project']}}}}, expect=201,
                  note='request body token.id held the admin-unscoped token value')
        self.areas[A][-1]['request']['body']['auth']['identity']['token']['id'] = '<admin-unscoped>'
        self.call(A, 'token method: no scope (unscoped from scoped token)', 'POST',
                  '/v3/auth/tokens', token=None, body={'auth': {'identity': {
                      'methods': ['token'], 'token': {'id': self.tokens['admin']}}}})
        self.areas[A][-1]['request']['body']['auth']['identity']['token']['id'] = '<admin>'
        self.call(A, 'token method: rescope a project-scoped token to a domain', 'POST',
                  '/v3/auth/tokens', token=None, body={'auth': {'identity': {
                      'methods': ['token'], 'token': {'id': self.tokens['admin']}},
                      'scope': {'domain': {'id': 'default'}}}}, expect=201)
        self.areas[A][-1]['request']['body']['auth']['identity']['token']['id'] = '<admin>'
        self.call(A, 'token method: rescope to a project the user has no role on', 'POST',
                  '/v3/auth/tokens', token=None, body={'auth': {'identity': {
                      'methods': ['token'], 'token': {'id': self.tokens['member-of-demo']}},
                      'scope': {'project': {'id': self.ids['admin_project']}}}}, expect=401)
        self.areas[A][-1]['request']['body']['auth']['identity']['token']['id'] = '<member-of-demo>'
        self.call(A, 'token method: garbage token id', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['token'], 'token': {'id': 'garbage'}}}})
        self.call(A, 'token method: X-Auth-Token header and empty token object', 'POST',
                  '/v3/auth/tokens', token='admin-unscoped',
                  body={'auth': {'identity': {'methods': ['token'], 'token': {}},
                                 'scope': {'project': {'id': self.ids['admin_project']}}}})
        self.call(A, 'password, explicit "unscoped" scope string', 'POST', '/v3/auth/tokens',
                  token=None, body={'auth': self.pw_auth('admin', self.password, 'unscoped')})
        # failures
        self.call(A, 'wrong password', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('admin', 'wrong')}, expect=401)
        self.call(A, 'unknown user name', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('rec-nobody', 'x')}, expect=401)
        self.call(A, 'unknown user id', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['password'], 'password': {
                      'user': {'id': '0123456789abcdef0123456789abcdef', 'password': 'x'}}}}},
                  expect=401)
        self.call(A, 'unknown user domain', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('admin', self.password, domain='rec-nodomain')},
                  expect=401)
        self.call(A, 'disabled user, right password', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('rec-disabled', 'pw-disabled')}, expect=401)
        self.call(A, 'disabled user, wrong password', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('rec-disabled', 'wrong')}, expect=401)
        self.call(A, 'user with no role on the requested project', 'POST', '/v3/auth/tokens',
                  token=None, body={'auth': self.pw_auth('rec-norole', 'pw-norole',
                                                         {'project': {'id': self.ids['demo']}})},
                  expect=401)
        self.call(A, 'user with no role: unscoped works', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('rec-norole', 'pw-norole')}, expect=201)
        self.call(A, 'user with no role, system scope', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('rec-norole', 'pw-norole', {'system': {'all': True}})})
        self.call(A, 'user with no role, domain scope', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('rec-norole', 'pw-norole', {'domain': dflt})})
        self.call(A, 'scope to unknown project id', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('admin', self.password,
                                             {'project': {'id': '0123456789abcdef0123456789abcdef'}})})
        self.call(A, 'scope to unknown project name', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('admin', self.password,
                                             {'project': {'name': 'rec-nope', 'domain': dflt}})})
        self.call(A, 'scope to project by name without domain', 'POST', '/v3/auth/tokens',
                  token=None, body={'auth': self.pw_auth('admin', self.password,
                                                         {'project': {'name': 'admin'}})})
        self.call(A, 'scope to disabled project (admin has a role on it)', 'POST',
                  '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('admin', self.password,
                                             {'project': {'id': self.ids['rec-disabled-project']}})})
        self.call(A, 'scope to unknown domain', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('admin', self.password, {'domain': {'id': 'rec-nope'}})})
        self.call(A, 'scope to project and domain at once', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('admin', self.password,
                                             {'project': {'id': self.ids['admin_project']},
                                              'domain': dflt})})
        self.call(A, 'system scope {"system":{"all":false}}', 'POST', '/v3/auth/tokens',
                  token=None, body={'auth': self.pw_auth('admin', self.password,
                                                         {'system': {'all': False}})})
        self.call(A, 'MFA user, rule [password, totp], password only', 'POST',
                  '/v3/auth/tokens', token=None, body={'auth': self.pw_auth('rec-mfa', 'pw-mfa')},
                  note='totp is not in [auth] methods (default: external, password, token, '
                  'oauth1, mapped, application_credential), so the rule reduces to [password]')
        self.call(A, 'MFA user, rule [password, application_credential], password only', 'POST',
                  '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('rec-mfa2', 'pw-mfa2')}, expect=401,
                  note='401 with an Openstack-Auth-Receipt header and a receipt body')
        # malformed requests
        self.call(A, 'missing identity', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {}}, expect=400)
        self.call(A, 'missing auth', 'POST', '/v3/auth/tokens', token=None, body={}, expect=400)
        self.call(A, 'missing methods', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'password': {'user': {
                      'name': 'admin', 'domain': dflt, 'password': self.password}}}}})
        self.call(A, 'empty methods list', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': [], 'password': {'user': {
                      'name': 'admin', 'domain': dflt, 'password': self.password}}}}})
        self.call(A, 'method listed without its object', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['password']}}})
        self.call(A, 'unknown method', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['bogus'], 'bogus': {}}}})
        self.call(A, 'totp method for a user without totp credential', 'POST', '/v3/auth/tokens',
                  token=None, body={'auth': {'identity': {'methods': ['totp'], 'totp': {'user': {
                      'name': 'admin', 'domain': dflt, 'passcode': '123456'}}}}})
        self.call(A, 'password user without domain (name only)', 'POST', '/v3/auth/tokens',
                  token=None, body={'auth': {'identity': {'methods': ['password'], 'password': {
                      'user': {'name': 'admin', 'password': self.password}}}}})
        self.call(A, 'password missing', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['password'], 'password': {
                      'user': {'name': 'admin', 'domain': dflt}}}}})
        self.call(A, 'password null', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['password'], 'password': {
                      'user': {'name': 'admin', 'domain': dflt, 'password': None}}}}})
        self.call(A, 'password empty string', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['password'], 'password': {
                      'user': {'name': 'admin', 'domain': dflt, 'password': ''}}}}})
        self.call(A, 'password is a number', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['password'], 'password': {
                      'user': {'name': 'admin', 'domain': dflt, 'password': 12345}}}}})
        self.call(A, 'user is a string', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['password'], 'password': {
                      'user': 'admin'}}}})
        self.call(A, 'methods is a string', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': 'password', 'password': {'user': {
                      'name': 'admin', 'domain': dflt, 'password': self.password}}}}})
        self.call(A, 'unknown top-level field next to auth', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('admin', self.password), 'bogus': 1})
        self.call(A, 'unknown field in auth', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('admin', self.password) | {'bogus': 1}})
        self.call(A, 'unknown field in identity', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['password'], 'bogus': 1, 'password': {
                      'user': {'name': 'admin', 'domain': dflt, 'password': self.password}}}}})
        self.call(A, 'unknown field in password.user', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': {'identity': {'methods': ['password'], 'password': {
                      'user': {'name': 'admin', 'domain': dflt, 'password': self.password,
                               'bogus': 1}}}}})
        self.call(A, 'unknown field in scope', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('admin', self.password,
                                             {'project': {'id': self.ids['admin_project']},
                                              'bogus': 1})})
        self.call(A, 'unknown field in scope.project', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': self.pw_auth('admin', self.password,
                                             {'project': {'id': self.ids['admin_project'],
                                                          'bogus': 1}})})
        self.call(A, 'malformed JSON', 'POST', '/v3/auth/tokens', token=None,
                  raw='{"auth": {"identity": ', headers={'Content-Type': 'application/json'},
                  expect=400)
        self.call(A, 'wrong content type (text/plain, JSON body)', 'POST', '/v3/auth/tokens',
                  token=None, raw=json.dumps({'auth': self.pw_auth('admin', self.password)}),
                  headers={'Content-Type': 'text/plain'})
        self.call(A, 'no content type, JSON body', 'POST', '/v3/auth/tokens',
                  token=None, raw=json.dumps({'auth': self.pw_auth('admin', self.password)}))
        self.call(A, 'form content type', 'POST', '/v3/auth/tokens', token=None,
                  raw='auth=x', headers={'Content-Type': 'application/x-www-form-urlencoded'})
        self.call(A, 'empty body with JSON content type', 'POST', '/v3/auth/tokens', token=None,
                  raw=b'', headers={'Content-Type': 'application/json'})
        self.call(A, 'empty body, no content type', 'POST', '/v3/auth/tokens', token=None)
        self.call(A, 'JSON array body', 'POST', '/v3/auth/tokens', token=None, body=[])
        self.call(A, 'JSON null body', 'POST', '/v3/auth/tokens', token=None, body=None)
        self.call(A, 'auth is a string', 'POST', '/v3/auth/tokens', token=None,
                  body={'auth': 'x'})

    def forge_expired_token(self, user_id, project_id):
        """A correctly signed project-scoped fernet token that expired an hour ago, minted with
        keystone's own payload code and the reference's key repository."""
        conf = os.path.join(self.ks_dir or '', 'keystone.conf')
        if not self.ks_dir or not os.path.exists(conf):
            return None
        import msgpack
        from cryptography import fernet
        import keystone.conf
        from keystone.token import token_formatters as tf
        keystone.conf.configure()
        keystone.conf.CONF([], project='keystone', default_config_files=[conf])
        keydir = keystone.conf.CONF.fernet_tokens.key_repository
        primary = max(int(n) for n in os.listdir(keydir) if n.isdigit())
        with open(os.path.join(keydir, str(primary)), 'rb') as f:
            key = f.read().strip()
        now = datetime.datetime.utcnow()
        issued = now - datetime.timedelta(hours=2)
        expires = (now - datetime.timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%S.000000Z')
        audit = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip('=')
        payload = tf.ProjectScopedPayload.assemble(
            user_id, ['password'], None, project_id, None, expires, [audit],
            None, None, None, None, None, None)
        packed = msgpack.packb((tf.ProjectScopedPayload.version,) + payload)
        token = fernet.Fernet(key).encrypt_at_time(packed, int(issued.timestamp()))
        return token.rstrip(b'=').decode()

    def auth_validation(self):
        A = 'auth-tokens'
        self.call(A, 'validate a project-scoped token (GET, X-Subject-Token)', 'GET',
                  '/v3/auth/tokens', subject='member-of-demo', expect=200)
        self.call(A, 'validate own token', 'GET', '/v3/auth/tokens', subject='admin', expect=200)
        self.call(A, 'validate a system-scoped token', 'GET', '/v3/auth/tokens',
                  subject='admin-system', expect=200)
        self.call(A, 'validate an unscoped token', 'GET', '/v3/auth/tokens',
                  subject='admin-unscoped', expect=200)
        self.call(A, 'validate, ?nocatalog', 'GET', '/v3/auth/tokens?nocatalog',
                  subject='member-of-demo', expect=200)
        self.call(A, 'check a token (HEAD)', 'HEAD', '/v3/auth/tokens', subject='member-of-demo',
                  expect=200)
        self.call(A, 'validate with a system-scoped caller', 'GET', '/v3/auth/tokens',
                  token='admin-system', subject='reader-of-demo', expect=200)
        self.call(A, 'validate, missing X-Subject-Token', 'GET', '/v3/auth/tokens')
        self.call(A, 'check, missing X-Subject-Token', 'HEAD', '/v3/auth/tokens')
        self.call(A, 'validate garbage subject token', 'GET', '/v3/auth/tokens',
                  subject='literal:garbage-token')
        self.call(A, 'check garbage subject token', 'HEAD', '/v3/auth/tokens',
                  subject='literal:garbage-token')
        fake_fernet = 'gAAAAAB' + base64.urlsafe_b64encode(b'\x00' * 150).decode().rstrip('=')
        self.call(A, 'validate fernet-shaped garbage subject token', 'GET', '/v3/auth/tokens',
                  subject='literal:' + fake_fernet)
        self.call(A, 'validate without X-Auth-Token', 'GET', '/v3/auth/tokens', token=None,
                  subject='member-of-demo', expect=401)
        self.call(A, 'validate with a garbage X-Auth-Token', 'GET', '/v3/auth/tokens',
                  token='literal:garbage-token', subject='member-of-demo', expect=401)
        expired = self.forge_expired_token(self.ids['admin_user'], self.ids['admin_project'])
        if expired:
            self.tokens['expired'] = expired
            note = ('signed with the reference fernet key, issued 2 h ago, expired 1 h ago '
                    '(within [token] allow_expired_window, 48 h)')
            self.call(A, 'validate an expired token', 'GET', '/v3/auth/tokens', subject='expired',
                      note=note)
            self.call(A, 'check an expired token (HEAD)', 'HEAD', '/v3/auth/tokens',
                      subject='expired', note=note)
            self.call(A, 'validate an expired token, ?allow_expired=1', 'GET',
                      '/v3/auth/tokens?allow_expired=1', subject='expired', note=note)
            self.call(A, 'check an expired token, ?allow_expired=true (HEAD)', 'HEAD',
                      '/v3/auth/tokens?allow_expired=true', subject='expired', note=note)
            self.call(A, 'use an expired token as X-Auth-Token', 'GET', '/v3/projects',
                      token='expired', note=note)
        self.call(A, 'validate a valid token with ?allow_expired=1', 'GET',
                  '/v3/auth/tokens?allow_expired=1', subject='member-of-demo')
        # revoke
        self.issue('revoked', self.pw_auth('demo-member', 'pw-demo-member',
                                           {'project': {'id': self.ids['demo']}}))
        self.call(A, 'revoke a token (DELETE)', 'DELETE', '/v3/auth/tokens', subject='revoked',
                  expect=204)
        self.call(A, 'validate a revoked token', 'GET', '/v3/auth/tokens', subject='revoked')
        self.call(A, 'check a revoked token (HEAD)', 'HEAD', '/v3/auth/tokens', subject='revoked')
        self.call(A, 'validate a revoked token, ?allow_expired=1', 'GET',
                  '/v3/auth/tokens?allow_expired=1', subject='revoked')
        self.call(A, 'revoke it again', 'DELETE', '/v3/auth/tokens', subject='revoked')
        self.call(A, 'use a revoked token as X-Auth-Token', 'GET', '/v3/projects', token='revoked')
        self.call(A, 'revoke, missing X-Subject-Token', 'DELETE', '/v3/auth/tokens')
        self.call(A, 'revoke a garbage token', 'DELETE', '/v3/auth/tokens',
                  subject='literal:garbage-token')
        self.issue('self-revoke', self.pw_auth('demo-reader', 'pw-demo-reader',
                                               {'project': {'id': self.ids['demo']}}))
        self.call(A, 'revoke own token (X-Auth-Token == X-Subject-Token)', 'DELETE',
                  '/v3/auth/tokens', token='self-revoke', subject='self-revoke')

    def auth_catalog_and_scopes(self):
        A = 'auth-tokens'
        for label in ('admin-unscoped', 'admin', 'admin-system', 'member-of-demo'):
            self.call(A, 'GET /v3/auth/catalog with %s token' % label, 'GET', '/v3/auth/catalog',
                      token=label)
        for label in ('admin-unscoped', 'admin', 'member-of-demo'):
            self.call(A, 'GET /v3/auth/projects with %s token' % label, 'GET',
                      '/v3/auth/projects', token=label)
            self.call(A, 'GET /v3/auth/domains with %s token' % label, 'GET',
                      '/v3/auth/domains', token=label)
        for label in ('admin-unscoped', 'admin-system', 'member-of-demo'):
            self.call(A, 'GET /v3/auth/system with %s token' % label, 'GET', '/v3/auth/system',
                      token=label)
        self.call(A, 'GET /v3/auth/catalog without a token', 'GET', '/v3/auth/catalog',
                  token=None)

    def domains(self):
        A = 'domains'
        self.call(A, 'list domains', 'GET', '/v3/domains', expect=200)
        self.call(A, 'get Default', 'GET', '/v3/domains/default', expect=200)
        d = self.call(A, 'create domain', 'POST', '/v3/domains', expect=201,
                      body={'domain': {'name': 'rec-domain', 'description': 'recorded'}}).json_body
        did = d['domain']['id']
        self.ids['rec-domain'] = did
        self.call(A, 'create domain with extra attribute, enabled false, tags', 'POST',
                  '/v3/domains', body={'domain': {'name': 'rec-domain-extra', 'enabled': False,
                                                  'colour': 'blue', 'tags': ['t1']}})
        self.call(A, 'create domain with explicit id', 'POST', '/v3/domains',
                  body={'domain': {'name': 'rec-domain-id', 'id': 'rec-domain-explicit-id'}})
        self.call(A, 'create duplicate domain', 'POST', '/v3/domains',
                  body={'domain': {'name': 'rec-domain'}}, expect=409)
        self.call(A, 'create domain without name', 'POST', '/v3/domains',
                  body={'domain': {'description': 'x'}}, expect=400)
        self.call(A, 'create domain without domain wrapper', 'POST', '/v3/domains',
                  body={'name': 'rec-x'}, expect=400)
        self.call(A, 'list domains ?name=rec-domain', 'GET', '/v3/domains?name=rec-domain')
        self.call(A, 'list domains ?enabled=false', 'GET', '/v3/domains?enabled=false')
        self.call(A, 'list domains ?enabled=0', 'GET', '/v3/domains?enabled=0')
        self.call(A, 'list domains ?name=no-such', 'GET', '/v3/domains?name=no-such')
        self.call(A, 'get domain', 'GET', '/v3/domains/' + did, expect=200)
        self.call(A, 'update domain description and extra attribute', 'PATCH',
                  '/v3/domains/' + did, body={'domain': {'description': 'changed', 'colour': 'red'}})
        self.call(A, 'update domain id (immutable)', 'PATCH', '/v3/domains/' + did,
                  body={'domain': {'id': 'other'}})
        self.call(A, 'update domain, empty object', 'PATCH', '/v3/domains/' + did,
                  body={'domain': {}})
        self.call(A, 'rename domain to a taken name', 'PATCH', '/v3/domains/' + did,
                  body={'domain': {'name': 'Default'}})
        self.call(A, 'delete enabled domain', 'DELETE', '/v3/domains/' + did, expect=403)
        self.call(A, 'disable domain', 'PATCH', '/v3/domains/' + did,
                  body={'domain': {'enabled': False}}, expect=200)
        self.call(A, 'delete disabled domain', 'DELETE', '/v3/domains/' + did, expect=204)
        self.call(A, 'get deleted domain', 'GET', '/v3/domains/' + did, expect=404)
        self.call(A, 'delete deleted domain', 'DELETE', '/v3/domains/' + did, expect=404)
        self.call(A, 'update unknown domain', 'PATCH', '/v3/domains/' + did,
                  body={'domain': {'description': 'x'}}, expect=404)
        self.call(A, 'get domain, malformed id', 'GET', '/v3/domains/not%20an%20id!')
        self.call(A, 'get domain, 300-char id', 'GET', '/v3/domains/' + 'a' * 300)
        self.call(A, 'HEAD a domain', 'HEAD', '/v3/domains/default')

    def projects(self):
        A = 'projects'
        self.call(A, 'list projects', 'GET', '/v3/projects', expect=200)
        p = self.call(A, 'create project with extra attributes and tags', 'POST', '/v3/projects',
                      expect=201, body={'project': {
                          'name': 'rec-project', 'domain_id': 'default',
                          'description': 'recorded', 'enabled': True,
                          'owner_email': 'ops@example.org', 'cost_center': 42,
                          'tags': ['alpha', 'beta']}}).json_body['project']
        pid = p['id']
        self.ids['rec-project'] = pid
        self.call(A, 'create minimal project (no domain_id: default domain)', 'POST',
                  '/v3/projects', body={'project': {'name': 'rec-project-min'}}, expect=201)
        c = self.call(A, 'create child project (parent_id)', 'POST', '/v3/projects', expect=201,
                      body={'project': {'name': 'rec-child', 'parent_id': pid}}).json_body
        cid = c['project']['id']
        self.ids['rec-child'] = cid
        gc = self.call(A, 'create grandchild project', 'POST', '/v3/projects', expect=201,
                       body={'project': {'name': 'rec-grandchild', 'parent_id': cid,
                                         'domain_id': 'default'}}).json_body
        self.ids['rec-grandchild'] = gc['project']['id']
        self.call(A, 'create project with parent in another domain', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-bad-parent', 'parent_id': pid,
                                    'domain_id': 'rec-nodomain'}})
        self.call(A, 'create project with unknown parent_id', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-orphan',
                                    'parent_id': '0123456789abcdef0123456789abcdef'}})
        self.call(A, 'create project with unknown domain_id', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-nodom', 'domain_id': 'rec-nodomain'}})
        self.call(A, 'create duplicate project name in domain', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-project', 'domain_id': 'default'}}, expect=409)
        self.call(A, 'create project with explicit id', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-project-id', 'id': 'rec-explicit-id'}})
        self.call(A, 'create project with options', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-project-opts',
                                    'options': {'immutable': False}}})
        self.call(A, 'create project with unknown option', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-project-badopt', 'options': {'bogus': True}}})
        self.call(A, 'create project, invalid tag (contains /)', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-badtag', 'tags': ['a/b']}})
        self.call(A, 'create project, duplicate tags', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-duptag', 'tags': ['x', 'x']}})
        self.call(A, 'create project, 81 tags', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-manytags', 'tags': ['t%d' % i for i in range(81)]}})
        self.call(A, 'create project, name 65 chars', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-' + 'n' * 61}})
        self.call(A, 'create project, name 64 chars', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-' + 'n' * 60}})
        self.call(A, 'create project, is_domain true', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-project-domain', 'is_domain': True}})
        self.call(A, 'get project', 'GET', '/v3/projects/' + pid, expect=200)
        self.call(A, 'get project ?parents_as_list', 'GET',
                  '/v3/projects/%s?parents_as_list' % self.ids['rec-grandchild'])
        self.call(A, 'get project ?parents_as_ids', 'GET',
                  '/v3/projects/%s?parents_as_ids' % self.ids['rec-grandchild'])
        self.call(A, 'get project ?subtree_as_list', 'GET', '/v3/projects/%s?subtree_as_list' % pid)
        self.call(A, 'get project ?subtree_as_ids', 'GET', '/v3/projects/%s?subtree_as_ids' % pid)
        self.call(A, 'get project ?include_limits', 'GET', '/v3/projects/%s?include_limits' % pid)
        self.call(A, 'list projects ?name=rec-project', 'GET', '/v3/projects?name=rec-project')
        self.call(A, 'list projects ?domain_id=default', 'GET', '/v3/projects?domain_id=default')
        self.call(A, 'list projects ?enabled=false', 'GET', '/v3/projects?enabled=false')
        self.call(A, 'list projects ?enabled=False', 'GET', '/v3/projects?enabled=False')
        self.call(A, 'list projects ?enabled=garbage', 'GET', '/v3/projects?enabled=garbage')
        self.call(A, 'list projects ?parent_id=', 'GET', '/v3/projects?parent_id=' + pid)
        self.call(A, 'list projects ?is_domain=true', 'GET', '/v3/projects?is_domain=true')
        self.call(A, 'list projects ?tags=alpha', 'GET', '/v3/projects?tags=alpha')
        self.call(A, 'list projects ?tags=alpha,beta', 'GET', '/v3/projects?tags=alpha,beta')
        self.call(A, 'list projects ?tags-any=beta,zzz', 'GET', '/v3/projects?tags-any=beta,zzz')
        self.call(A, 'list projects ?not-tags=alpha&name=rec-child', 'GET',
                  '/v3/projects?not-tags=alpha&name=rec-child')
        self.call(A, 'list projects ?bogus=1 (unknown filter)', 'GET',
                  '/v3/projects?bogus=1&name=rec-project')
        self.call(A, 'list projects ?limit=1', 'GET', '/v3/projects?limit=1')
        self.call(A, 'list projects ?name=rec-project&domain_id=default&enabled=true', 'GET',
                  '/v3/projects?name=rec-project&domain_id=default&enabled=true')
        self.call(A, 'update project: description, extra attribute, new extra', 'PATCH',
                  '/v3/projects/' + pid, body={'project': {
                      'description': 'changed', 'cost_center': None, 'site': 'lab'}})
        self.call(A, 'get project after the update', 'GET', '/v3/projects/' + pid)
        self.call(A, 'list projects ?name= after the update', 'GET', '/v3/projects?name=rec-project')
        self.call(A, 'update project: tags', 'PATCH', '/v3/projects/' + pid,
                  body={'project': {'tags': ['gamma']}})
        self.call(A, 'update project: change domain_id', 'PATCH', '/v3/projects/' + pid,
                  body={'project': {'domain_id': 'rec-nodomain'}})
        self.call(A, 'update project: change parent_id', 'PATCH', '/v3/projects/' + pid,
                  body={'project': {'parent_id': cid}})
        self.call(A, 'update project: change is_domain', 'PATCH', '/v3/projects/' + pid,
                  body={'project': {'is_domain': True}})
        self.call(A, 'update project: rename to a taken name', 'PATCH', '/v3/projects/' + pid,
                  body={'project': {'name': 'rec-project-min'}},
                  note='upstream bug: building the 409 message raises KeyError (id missing from '
                  'the patch), the error escapes the WSGI app and uwsgi closes the connection')
        self.call(A, 'update project: id in body', 'PATCH', '/v3/projects/' + pid,
                  body={'project': {'id': pid}})
        self.call(A, 'update project: enabled "yes"', 'PATCH', '/v3/projects/' + pid,
                  body={'project': {'enabled': 'yes'}})
        # tags subresource
        self.call(A, 'list project tags', 'GET', '/v3/projects/%s/tags' % pid)
        self.call(A, 'add a tag (PUT)', 'PUT', '/v3/projects/%s/tags/delta' % pid)
        self.call(A, 'check a tag (HEAD)', 'HEAD', '/v3/projects/%s/tags/delta' % pid)
        self.call(A, 'get a tag (GET)', 'GET', '/v3/projects/%s/tags/delta' % pid)
        self.call(A, 'check a missing tag', 'HEAD', '/v3/projects/%s/tags/nope' % pid)
        self.call(A, 'get a missing tag', 'GET', '/v3/projects/%s/tags/nope' % pid)
        self.call(A, 'replace all tags (PUT)', 'PUT', '/v3/projects/%s/tags' % pid,
                  body={'tags': ['one', 'two']})
        self.call(A, 'delete a tag', 'DELETE', '/v3/projects/%s/tags/one' % pid)
        self.call(A, 'delete a missing tag', 'DELETE', '/v3/projects/%s/tags/one' % pid)
        self.call(A, 'delete all tags', 'DELETE', '/v3/projects/%s/tags' % pid)
        self.call(A, 'disable project', 'PATCH', '/v3/projects/' + cid,
                  body={'project': {'enabled': False}})
        self.call(A, 'delete project with children', 'DELETE', '/v3/projects/' + pid)
        self.call(A, 'delete grandchild', 'DELETE', '/v3/projects/' + self.ids['rec-grandchild'],
                  expect=204)
        self.call(A, 'get deleted project', 'GET', '/v3/projects/' + self.ids['rec-grandchild'],
                  expect=404)
        self.call(A, 'delete deleted project', 'DELETE',
                  '/v3/projects/' + self.ids['rec-grandchild'], expect=404)
        self.call(A, 'get project, well-formed unknown id', 'GET',
                  '/v3/projects/0123456789abcdef0123456789abcdef', expect=404)
        self.call(A, 'get project, malformed id', 'GET', '/v3/projects/not%20an%20id!')
        self.call(A, 'get project, 300-char id', 'GET', '/v3/projects/' + 'a' * 300)
        self.call(A, 'get project, 8000-char id', 'GET', '/v3/projects/' + 'a' * 8000,
                  note='much longer request lines (> 64 KiB) are refused by uwsgi itself '
                  '(--buffer-size 65535), not by Keystone')
        self.call(A, 'head project', 'HEAD', '/v3/projects/' + pid)
        self.call(A, 'delete child project', 'DELETE', '/v3/projects/' + cid, expect=204)
        self.call(A, 'delete project', 'DELETE', '/v3/projects/' + pid, expect=204)

    def users(self):
        A = 'users'
        self.call(A, 'list users', 'GET', '/v3/users', expect=200)
        u = self.call(A, 'create user with extra attributes, password, default project', 'POST',
                      '/v3/users', expect=201, body={'user': {
                          'name': 'rec-user', 'domain_id': 'default', 'password': 'pw-rec-user',
                          'email': 'rec-user@example.org', 'description': 'recorded',
                          'default_project_id': self.ids['demo'], 'enabled': True,
                          'favourite_colour': 'green'}}).json_body['user']
        uid = u['id']
        self.ids['rec-user'] = uid
        self.call(A, 'create minimal user (name only)', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-user-min'}}, expect=201)
        self.call(A, 'create user with options', 'POST', '/v3/users', body={'user': {
            'name': 'rec-user-opts', 'domain_id': 'default', 'password': 'pw',
            'options': {'ignore_password_expiry': True, 'ignore_change_password_upon_first_use': True,
                        'lock_password': False}}})
        self.call(A, 'create user with unknown option', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-user-badopt', 'options': {'bogus': True}}})
        self.call(A, 'create disabled user', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-user-off', 'enabled': False}})
        self.call(A, 'create user, null password', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-user-nullpw', 'password': None}})
        self.call(A, 'create user, unknown default_project_id', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-user-nodp',
                                 'default_project_id': '0123456789abcdef0123456789abcdef'}})
        self.call(A, 'create user, unknown domain_id', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-user-nodom', 'domain_id': 'rec-nodomain'}})
        self.call(A, 'create user with explicit id', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-user-id', 'id': 'rec-explicit-user-id'}})
        self.call(A, 'create duplicate user', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-user', 'domain_id': 'default'}}, expect=409)
        self.call(A, 'create user without name', 'POST', '/v3/users',
                  body={'user': {'domain_id': 'default'}}, expect=400)
        self.call(A, 'create user, name 256 chars', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-' + 'u' * 252}})
        self.call(A, 'create user, name 255 chars', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-' + 'u' * 251}})
        self.call(A, 'get user', 'GET', '/v3/users/' + uid, expect=200)
        self.call(A, 'get user (bootstrap admin)', 'GET', '/v3/users/' + self.ids['admin_user'])
        self.call(A, 'list users ?name=rec-user', 'GET', '/v3/users?name=rec-user')
        self.call(A, 'list users ?enabled=false', 'GET', '/v3/users?enabled=false')
        self.call(A, 'list users ?domain_id=default', 'GET', '/v3/users?domain_id=default')
        self.call(A, 'list users ?name__contains=rec-user-', 'GET',
                  '/v3/users?name__contains=rec-user-')
        self.call(A, 'list users ?password_expires_at=gt:2000-01-01T00:00:00Z', 'GET',
                  '/v3/users?password_expires_at=gt:2000-01-01T00:00:00Z')
        self.call(A, 'update user: email, enabled false', 'PATCH', '/v3/users/' + uid,
                  body={'user': {'email': 'new@example.org', 'enabled': False}})
        self.call(A, 'update user: remove extra attribute (null)', 'PATCH', '/v3/users/' + uid,
                  body={'user': {'favourite_colour': None, 'enabled': True}})
        self.call(A, 'get user after the updates', 'GET', '/v3/users/' + uid)
        self.call(A, 'update user: password (admin)', 'PATCH', '/v3/users/' + uid,
                  body={'user': {'password': 'pw-rec-user-2'}})
        self.call(A, 'update user: domain_id', 'PATCH', '/v3/users/' + uid,
                  body={'user': {'domain_id': 'rec-nodomain'}})
        self.call(A, 'update user: enabled "yes"', 'PATCH', '/v3/users/' + uid,
                  body={'user': {'enabled': 'yes'}})
        self.call(A, 'update user: options', 'PATCH', '/v3/users/' + uid,
                  body={'user': {'options': {'ignore_lockout_failure_attempts': True}}})
        self.call(A, 'grant rec-user member on demo (for the self-service calls)', 'PUT',
                  '/v3/projects/%s/users/%s/roles/%s' % (self.ids['demo'], uid,
                                                         self.ids['role_member']))
        self.issue('rec-user', self.pw_auth('rec-user', 'pw-rec-user-2',
                                            {'project': {'id': self.ids['demo']}}))
        self.call(A, 'change own password (POST /v3/users/{id}/password)', 'POST',
                  '/v3/users/%s/password' % uid, token='rec-user',
                  body={'user': {'original_password': 'pw-rec-user-2', 'password': 'pw-rec-user-3'}})
        self.call(A, 'change own password, wrong original', 'POST', '/v3/users/%s/password' % uid,
                  token=None, body={'user': {'original_password': 'wrong', 'password': 'pw-x'}})
        self.call(A, 'list own projects (GET /v3/users/{id}/projects)', 'GET',
                  '/v3/users/%s/projects' % uid)
        self.call(A, 'list user groups', 'GET', '/v3/users/%s/groups' % uid)
        self.call(A, 'list user application credentials (admin, not owner)', 'GET',
                  '/v3/users/%s/application_credentials' % uid)
        self.call(A, 'delete user', 'DELETE', '/v3/users/' + uid, expect=204)
        self.call(A, 'get deleted user', 'GET', '/v3/users/' + uid, expect=404)
        self.call(A, 'delete deleted user', 'DELETE', '/v3/users/' + uid, expect=404)
        self.call(A, 'get user, malformed id', 'GET', '/v3/users/not%20an%20id!')
        self.call(A, 'get user, 300-char id', 'GET', '/v3/users/' + 'a' * 300)
        # groups, since role assignments refer to them
        g = self.call(A, 'create group', 'POST', '/v3/groups',
                      body={'group': {'name': 'rec-group', 'domain_id': 'default',
                                      'description': 'recorded'}}, expect=201).json_body['group']
        self.ids['rec-group'] = g['id']
        self.call(A, 'add user to group', 'PUT', '/v3/groups/%s/users/%s'
                  % (g['id'], self.ids['demo-reader']), expect=204)
        self.call(A, 'check user in group', 'HEAD', '/v3/groups/%s/users/%s'
                  % (g['id'], self.ids['demo-reader']))
        self.call(A, 'list group users', 'GET', '/v3/groups/%s/users' % g['id'])
        self.call(A, 'create duplicate group', 'POST', '/v3/groups',
                  body={'group': {'name': 'rec-group', 'domain_id': 'default'}}, expect=409)

    def roles(self):
        A = 'roles'
        self.call(A, 'list roles', 'GET', '/v3/roles', expect=200)
        self.call(A, 'list roles ?name=admin', 'GET', '/v3/roles?name=admin')
        self.call(A, 'get role admin', 'GET', '/v3/roles/' + self.ids['role_admin'])
        r = self.call(A, 'create role', 'POST', '/v3/roles', expect=201,
                      body={'role': {'name': 'rec-role', 'description': 'recorded'}}).json_body
        rid = r['role']['id']
        self.call(A, 'create role with extra attribute and options', 'POST', '/v3/roles',
                  body={'role': {'name': 'rec-role-extra', 'weight': 3,
                                 'options': {'immutable': False}}})
        self.call(A, 'create duplicate role', 'POST', '/v3/roles',
                  body={'role': {'name': 'rec-role'}}, expect=409)
        self.call(A, 'create role, name differs in case (REC-ROLE)', 'POST', '/v3/roles',
                  body={'role': {'name': 'REC-ROLE'}})
        self.call(A, 'create role without name', 'POST', '/v3/roles', body={'role': {}})
        self.call(A, 'create role, name 256 chars', 'POST', '/v3/roles',
                  body={'role': {'name': 'rec-' + 'r' * 252}})
        dom = self.call('setup', 'domain for roles', 'POST', '/v3/domains', record=False,
                        body={'domain': {'name': 'rec-role-domain'}}).json_body['domain']
        self.ids['rec-role-domain'] = dom['id']
        dr = self.call(A, 'create domain-specific role', 'POST', '/v3/roles', expect=201,
                       body={'role': {'name': 'rec-domain-role', 'domain_id': dom['id']}}).json_body
        self.ids['rec-domain-role'] = dr['role']['id']
        self.call(A, 'create domain-specific role with a global role\'s name', 'POST', '/v3/roles',
                  body={'role': {'name': 'rec-role', 'domain_id': dom['id']}})
        self.call(A, 'create domain-specific role, unknown domain', 'POST', '/v3/roles',
                  body={'role': {'name': 'rec-domain-role2', 'domain_id': 'rec-nodomain'}})
        self.call(A, 'list roles ?domain_id=', 'GET', '/v3/roles?domain_id=' + dom['id'])
        self.call(A, 'get domain-specific role', 'GET', '/v3/roles/' + self.ids['rec-domain-role'])
        self.call(A, 'update role', 'PATCH', '/v3/roles/' + rid,
                  body={'role': {'description': 'changed', 'name': 'rec-role-renamed'}})
        self.call(A, 'update role: domain_id', 'PATCH', '/v3/roles/' + rid,
                  body={'role': {'domain_id': dom['id']}})
        self.call(A, 'update role: rename to a taken name', 'PATCH', '/v3/roles/' + rid,
                  body={'role': {'name': 'admin'}})
        self.call(A, 'delete role', 'DELETE', '/v3/roles/' + rid, expect=204)
        self.call(A, 'get deleted role', 'GET', '/v3/roles/' + rid, expect=404)
        self.call(A, 'get role, malformed id', 'GET', '/v3/roles/not%20an%20id!')
        self.call(A, 'create immutable role', 'POST', '/v3/roles',
                  body={'role': {'name': 'rec-role-immutable', 'options': {'immutable': True}}})
        imm = self.find('roles', 'roles', 'rec-role-immutable')
        if imm:
            self.call(A, 'delete immutable role', 'DELETE', '/v3/roles/' + imm[0]['id'])
            self.call(A, 'update immutable role', 'PATCH', '/v3/roles/' + imm[0]['id'],
                      body={'role': {'description': 'x'}})
            self.call('setup', 'unlock', 'PATCH', '/v3/roles/' + imm[0]['id'], record=False,
                      body={'role': {'options': {'immutable': False}}})

    def implied_roles(self):
        A = 'implied-roles'
        self.call(A, 'list role inferences (bootstrap: admin>member>reader)', 'GET',
                  '/v3/role_inferences', expect=200)
        self.call(A, 'list implied roles of admin', 'GET',
                  '/v3/roles/%s/implies' % self.ids['role_admin'], expect=200)
        self.call(A, 'list implied roles of reader (none)', 'GET',
                  '/v3/roles/%s/implies' % self.ids['role_reader'])
        prior = self.call('setup', 'prior', 'POST', '/v3/roles', record=False,
                          body={'role': {'name': 'rec-prior'}}).json_body['role']['id']
        implied = self.call('setup', 'implied', 'POST', '/v3/roles', record=False,
                            body={'role': {'name': 'rec-implied'}}).json_body['role']['id']
        self.ids['rec-prior'] = prior
        self.ids['rec-implied'] = implied
        path = '/v3/roles/%s/implies/%s' % (prior, implied)
        self.call(A, 'create implied role rule (PUT)', 'PUT', path, expect=201)
        self.call(A, 'create it again (PUT)', 'PUT', path)
        self.call(A, 'get implied role rule', 'GET', path, expect=200)
        self.call(A, 'check implied role rule (HEAD)', 'HEAD', path)
        self.call(A, 'list implied roles of prior', 'GET', '/v3/roles/%s/implies' % prior)
        self.call(A, 'list role inferences (with the new rule)', 'GET', '/v3/role_inferences')
        self.call(A, 'create a cycle (implied implies prior)', 'PUT',
                  '/v3/roles/%s/implies/%s' % (implied, prior))
        self.call(A, 'role implies itself', 'PUT', '/v3/roles/%s/implies/%s' % (prior, prior))
        # upstream accepts both; remove them again so the effective role assignment
        # listings below are not multiplied by the cycle
        self.call(A, 'delete the cycle rule', 'DELETE', '/v3/roles/%s/implies/%s' % (implied, prior))
        self.call(A, 'delete the self rule', 'DELETE', '/v3/roles/%s/implies/%s' % (prior, prior))
        self.call(A, 'imply a domain-specific role', 'PUT',
                  '/v3/roles/%s/implies/%s' % (prior, self.ids['rec-domain-role']))
        self.call(A, 'domain-specific role implies a global role', 'PUT',
                  '/v3/roles/%s/implies/%s' % (self.ids['rec-domain-role'], implied))
        self.call(A, 'imply admin (prohibited_implied_role)', 'PUT',
                  '/v3/roles/%s/implies/%s' % (prior, self.ids['role_admin']))
        self.call(A, 'imply an unknown role', 'PUT',
                  '/v3/roles/%s/implies/0123456789abcdef0123456789abcdef' % prior)
        self.call(A, 'unknown prior role', 'PUT',
                  '/v3/roles/0123456789abcdef0123456789abcdef/implies/%s' % implied)
        self.call(A, 'list implied roles of an unknown role', 'GET',
                  '/v3/roles/0123456789abcdef0123456789abcdef/implies')
        self.call(A, 'delete implied role rule', 'DELETE', path, expect=204)
        self.call(A, 'get deleted rule', 'GET', path, expect=404)
        self.call(A, 'check deleted rule (HEAD)', 'HEAD', path)
        self.call(A, 'delete deleted rule', 'DELETE', path)
        # leave a rule for the effective role assignment listing
        self.call(A, 're-create rule for the role assignment recordings', 'PUT', path)

    def role_assignments(self):
        A = 'role-assignments'
        demo, u, r = self.ids['demo'], self.ids['rec-norole'], self.ids['rec-prior']
        pur = '/v3/projects/%s/users/%s/roles/%s' % (demo, u, r)
        self.call(A, 'grant role on project to user (PUT)', 'PUT', pur, expect=204)
        self.call(A, 'grant it again (PUT)', 'PUT', pur)
        self.call(A, 'check grant (HEAD)', 'HEAD', pur, expect=204)
        self.call(A, 'check grant (GET)', 'GET', pur)
        self.call(A, 'list user roles on project', 'GET',
                  '/v3/projects/%s/users/%s/roles' % (demo, u), expect=200)
        self.call(A, 'list roles of member persona on demo', 'GET',
                  '/v3/projects/%s/users/%s/roles' % (demo, self.ids['demo-member']))
        self.call(A, 'grant unknown role', 'PUT', '/v3/projects/%s/users/%s/roles/%s'
                  % (demo, u, '0123456789abcdef0123456789abcdef'))
        self.call(A, 'grant to unknown user', 'PUT', '/v3/projects/%s/users/%s/roles/%s'
                  % (demo, '0123456789abcdef0123456789abcdef', r))
        self.call(A, 'grant on unknown project', 'PUT', '/v3/projects/%s/users/%s/roles/%s'
                  % ('0123456789abcdef0123456789abcdef', u, r))
        self.call(A, 'grant a domain-specific role on a project of another domain', 'PUT',
                  '/v3/projects/%s/users/%s/roles/%s' % (demo, u, self.ids['rec-domain-role']))
        self.call(A, 'check a grant that does not exist (HEAD)', 'HEAD',
                  '/v3/projects/%s/users/%s/roles/%s' % (demo, u, self.ids['role_admin']))
        dur = '/v3/domains/default/users/%s/roles/%s' % (u, r)
        self.call(A, 'grant role on domain to user (PUT)', 'PUT', dur, expect=204)
        self.call(A, 'check domain grant (HEAD)', 'HEAD', dur, expect=204)
        self.call(A, 'list user roles on domain', 'GET', '/v3/domains/default/users/%s/roles' % u)
        gpr = '/v3/projects/%s/groups/%s/roles/%s' % (demo, self.ids['rec-group'],
                                                     self.ids['role_member'])
        self.call(A, 'grant role on project to group (PUT)', 'PUT', gpr, expect=204)
        self.call(A, 'list group roles on project', 'GET',
                  '/v3/projects/%s/groups/%s/roles' % (demo, self.ids['rec-group']))
        sur = '/v3/system/users/%s/roles/%s' % (u, self.ids['role_reader'])
        self.call(A, 'grant system role to user (PUT)', 'PUT', sur, expect=204)
        self.call(A, 'check system grant (HEAD)', 'HEAD', sur)
        self.call(A, 'list user system roles', 'GET', '/v3/system/users/%s/roles' % u)
        self.call(A, 'list admin system roles', 'GET',
                  '/v3/system/users/%s/roles' % self.ids['admin_user'])
        inh = '/v3/OS-INHERIT/domains/default/users/%s/roles/%s/inherited_to_projects' % (
            u, self.ids['role_reader'])
        self.call(A, 'grant inherited role on domain (OS-INHERIT)', 'PUT', inh)
        ra = '/v3/role_assignments'
        self.call(A, 'list all role assignments', 'GET', ra, expect=200)
        self.call(A, 'list ?user.id=', 'GET', ra + '?user.id=' + u)
        self.call(A, 'list ?user.id=&effective', 'GET', ra + '?user.id=%s&effective' % u)
        self.call(A, 'list ?user.id=&effective&include_names', 'GET',
                  ra + '?user.id=%s&effective&include_names' % u)
        self.call(A, 'list ?user.id=&include_names=true', 'GET',
                  ra + '?user.id=%s&include_names=true' % u)
        self.call(A, 'list ?scope.project.id=demo', 'GET', ra + '?scope.project.id=' + demo)
        self.call(A, 'list ?scope.project.id=demo&effective', 'GET',
                  ra + '?scope.project.id=%s&effective' % demo)
        self.call(A, 'list ?scope.project.id=demo&effective&include_names', 'GET',
                  ra + '?scope.project.id=%s&effective&include_names' % demo)
        self.call(A, 'list ?role.id=', 'GET', ra + '?role.id=' + r)
        self.call(A, 'list ?role.id=reader&effective (implied roles expanded)', 'GET',
                  ra + '?role.id=%s&effective' % self.ids['role_reader'])
        self.call(A, 'list ?scope.system=all', 'GET', ra + '?scope.system=all')
        self.call(A, 'list ?scope.domain.id=default', 'GET', ra + '?scope.domain.id=default')
        self.call(A, 'list ?group.id=', 'GET', ra + '?group.id=' + self.ids['rec-group'])
        self.call(A, 'list ?scope.OS-INHERIT:inherited_to=projects', 'GET',
                  ra + '?scope.OS-INHERIT:inherited_to=projects')
        sub = self.call('setup', 'subproject', 'POST', '/v3/projects', record=False,
                        body={'project': {'name': 'rec-demo-sub', 'parent_id': demo}}
                        ).json_body['project']['id']
        self.call('setup', 'grant on subproject', 'PUT', '/v3/projects/%s/users/%s/roles/%s'
                  % (sub, u, self.ids['role_member']), record=False)
        self.call(A, 'list ?scope.project.id=demo&include_subtree=true', 'GET',
                  ra + '?scope.project.id=%s&include_subtree=true' % demo)
        self.call(A, 'list ?include_subtree=true without scope.project.id', 'GET',
                  ra + '?include_subtree=true')
        self.call(A, 'list ?effective&group.id= (not allowed together)', 'GET',
                  ra + '?effective&group.id=' + self.ids['rec-group'])
        self.call(A, 'list ?scope.project.id=&scope.domain.id= (both)', 'GET',
                  ra + '?scope.project.id=%s&scope.domain.id=default' % demo)
        self.call(A, 'list ?user.id=unknown', 'GET', ra + '?user.id=0123456789abcdef0123456789abcdef')
        self.call(A, 'revoke project grant (DELETE)', 'DELETE', pur, expect=204)
        self.call(A, 'check revoked grant (HEAD)', 'HEAD', pur, expect=404)
        self.call(A, 'revoke it again (DELETE)', 'DELETE', pur)
        self.call(A, 'revoke domain grant (DELETE)', 'DELETE', dur, expect=204)
        self.call(A, 'revoke group grant (DELETE)', 'DELETE', gpr, expect=204)
        self.call(A, 'revoke system grant (DELETE)', 'DELETE', sur, expect=204)
        self.call(A, 'revoke inherited grant (DELETE)', 'DELETE', inh)

    def regions(self):
        A = 'regions'
        self.call(A, 'list regions', 'GET', '/v3/regions', expect=200)
        self.call(A, 'get RegionOne', 'GET', '/v3/regions/RegionOne', expect=200)
        r = self.call(A, 'create region without id (POST)', 'POST', '/v3/regions', expect=201,
                      body={'region': {'description': 'rec-generated-id'}}).json_body
        gen = r['region']['id']
        self.call(A, 'create region with id in body (POST)', 'POST', '/v3/regions',
                  body={'region': {'id': 'rec-region', 'description': 'recorded'}}, expect=201)
        self.call(A, 'create region with a duplicate id (POST)', 'POST', '/v3/regions',
                  body={'region': {'id': 'rec-region'}}, expect=409)
        self.call(A, 'create region with id in URL (PUT)', 'PUT', '/v3/regions/rec-region-put',
                  body={'region': {'description': 'via PUT'}}, expect=201)
        self.call(A, 'PUT an existing region', 'PUT', '/v3/regions/rec-region-put',
                  body={'region': {'description': 'again'}})
        self.call(A, 'PUT with a different id in body', 'PUT', '/v3/regions/rec-region-put2',
                  body={'region': {'id': 'other'}})
        self.call(A, 'create child region (parent_region_id)', 'POST', '/v3/regions',
                  body={'region': {'id': 'rec-region-child', 'parent_region_id': 'rec-region'}},
                  expect=201)
        self.call(A, 'create region with unknown parent', 'POST', '/v3/regions',
                  body={'region': {'id': 'rec-region-orphan', 'parent_region_id': 'rec-nope'}})
        self.call(A, 'create region with extra attribute', 'POST', '/v3/regions',
                  body={'region': {'id': 'rec-region-extra', 'location': 'lab'}})
        self.call(A, 'create region with empty body object', 'POST', '/v3/regions',
                  body={'region': {}})
        self.call(A, 'create region, id 256 chars', 'POST', '/v3/regions',
                  body={'region': {'id': 'rec-' + 'r' * 252}})
        self.call(A, 'list regions ?parent_region_id=rec-region', 'GET',
                  '/v3/regions?parent_region_id=rec-region')
        self.call(A, 'get region', 'GET', '/v3/regions/rec-region')
        self.call(A, 'update region', 'PATCH', '/v3/regions/rec-region',
                  body={'region': {'description': 'changed'}})
        self.call(A, 'update region: parent to itself', 'PATCH', '/v3/regions/rec-region',
                  body={'region': {'parent_region_id': 'rec-region'}})
        self.call(A, 'update region: parent cycle', 'PATCH', '/v3/regions/rec-region',
                  body={'region': {'parent_region_id': 'rec-region-child'}})
        self.call(A, 'delete region with a child (children go too)', 'DELETE',
                  '/v3/regions/rec-region', expect=204)
        self.call(A, 'get the child of the deleted region', 'GET', '/v3/regions/rec-region-child',
                  expect=404)
        self.call(A, 'get deleted region', 'GET', '/v3/regions/rec-region', expect=404)
        self.call(A, 'delete deleted region', 'DELETE', '/v3/regions/rec-region', expect=404)
        self.call(A, 'delete generated-id region', 'DELETE', '/v3/regions/' + gen, expect=204)
        self.call(A, 'get region, malformed id', 'GET', '/v3/regions/not%20an%20id!')
        self.call(A, 'get region, 300-char id', 'GET', '/v3/regions/' + 'a' * 300)

    def services(self):
        A = 'services'
        self.call(A, 'list services', 'GET', '/v3/services', expect=200)
        self.call(A, 'list services ?type=identity', 'GET', '/v3/services?type=identity')
        self.call(A, 'list services ?name=keystone', 'GET', '/v3/services?name=keystone')
        s = self.call(A, 'create service', 'POST', '/v3/services', expect=201,
                      body={'service': {'type': 'rec-type', 'name': 'rec-service',
                                        'description': 'recorded', 'enabled': True}}).json_body
        sid = s['service']['id']
        self.ids['rec-service'] = sid
        self.call(A, 'create minimal service (type only)', 'POST', '/v3/services',
                  body={'service': {'type': 'rec-type-min'}}, expect=201)
        self.call(A, 'create service with same type and name (allowed?)', 'POST', '/v3/services',
                  body={'service': {'type': 'rec-type', 'name': 'rec-service'}})
        self.call(A, 'create service with extra attribute', 'POST', '/v3/services',
                  body={'service': {'type': 'rec-type-extra', 'docs': 'http://example.org'}})
        self.call(A, 'create service without type', 'POST', '/v3/services',
                  body={'service': {'name': 'rec-notype'}}, expect=400)
        self.call(A, 'create service, enabled "yes"', 'POST', '/v3/services',
                  body={'service': {'type': 'rec-type-bad', 'enabled': 'yes'}})
        self.call(A, 'create service, type 256 chars', 'POST', '/v3/services',
                  body={'service': {'type': 'rec-' + 't' * 252}})
        self.call(A, 'get service', 'GET', '/v3/services/' + sid, expect=200)
        self.call(A, 'update service', 'PATCH', '/v3/services/' + sid,
                  body={'service': {'description': 'changed', 'enabled': False}})
        self.call(A, 'update service: type null', 'PATCH', '/v3/services/' + sid,
                  body={'service': {'type': None}})
        self.call(A, 'get unknown service', 'GET', '/v3/services/0123456789abcdef0123456789abcdef',
                  expect=404)
        self.call(A, 'get service, malformed id', 'GET', '/v3/services/not%20an%20id!')

    def endpoints(self):
        A = 'endpoints'
        sid = self.ids['rec-service']
        self.call(A, 'list endpoints', 'GET', '/v3/endpoints', expect=200)
        self.call(A, 'list endpoints ?interface=public', 'GET', '/v3/endpoints?interface=public')
        self.call(A, 'list endpoints ?interface=bogus', 'GET', '/v3/endpoints?interface=bogus')
        self.call(A, 'list endpoints ?service_id=identity', 'GET',
                  '/v3/endpoints?service_id=' + self.ids['identity_service'])
        self.call(A, 'list endpoints ?region_id=RegionOne', 'GET', '/v3/endpoints?region_id=RegionOne')
        e = self.call(A, 'create endpoint', 'POST', '/v3/endpoints', expect=201, body={'endpoint': {
            'service_id': sid, 'interface': 'public', 'url': 'http://rec.example.org:1234/v1',
            'region_id': 'RegionOne', 'enabled': True}}).json_body
        eid = e['endpoint']['id']
        self.call(A, 'create endpoint without region', 'POST', '/v3/endpoints', body={'endpoint': {
            'service_id': sid, 'interface': 'internal', 'url': 'http://rec.example.org:1234/v1'}},
            expect=201)
        self.call(A, 'create endpoint with legacy "region" field', 'POST', '/v3/endpoints',
                  body={'endpoint': {'service_id': sid, 'interface': 'admin',
                                     'url': 'http://rec.example.org:1234/v1', 'region': 'RegionOne'}})
        self.call(A, 'create endpoint with region and region_id differing', 'POST', '/v3/endpoints',
                  body={'endpoint': {'service_id': sid, 'interface': 'admin',
                                     'url': 'http://rec.example.org:1234/v1', 'region': 'RegionOne',
                                     'region_id': 'rec-region-put'}})
        self.call(A, 'create endpoint with unknown region_id', 'POST', '/v3/endpoints',
                  body={'endpoint': {'service_id': sid, 'interface': 'admin',
                                     'url': 'http://rec.example.org:1234/v1',
                                     'region_id': 'rec-no-region'}})
        self.call(A, 'create endpoint with unknown service_id', 'POST', '/v3/endpoints',
                  body={'endpoint': {'service_id': '0123456789abcdef0123456789abcdef',
                                     'interface': 'public', 'url': 'http://x.example.org'}})
        self.call(A, 'create endpoint, bad interface', 'POST', '/v3/endpoints',
                  body={'endpoint': {'service_id': sid, 'interface': 'private',
                                     'url': 'http://rec.example.org'}}, expect=400)
        self.call(A, 'create endpoint, interface upper case', 'POST', '/v3/endpoints',
                  body={'endpoint': {'service_id': sid, 'interface': 'PUBLIC',
                                     'url': 'http://rec.example.org'}})
        self.call(A, 'create endpoint, url without scheme', 'POST', '/v3/endpoints',
                  body={'endpoint': {'service_id': sid, 'interface': 'public', 'url': 'not a url'}})
        self.call(A, 'create endpoint, url with $(project_id)s substitution', 'POST',
                  '/v3/endpoints', body={'endpoint': {
                      'service_id': sid, 'interface': 'public',
                      'url': 'http://rec.example.org/v2/$(project_id)s'}})
        self.call(A, 'create endpoint, url with an unknown substitution', 'POST', '/v3/endpoints',
                  body={'endpoint': {'service_id': sid, 'interface': 'public',
                                     'url': 'http://rec.example.org/$(bogus)s'}})
        self.call(A, 'create endpoint, missing url', 'POST', '/v3/endpoints',
                  body={'endpoint': {'service_id': sid, 'interface': 'public'}})
        self.call(A, 'create endpoint, missing service_id', 'POST', '/v3/endpoints',
                  body={'endpoint': {'interface': 'public', 'url': 'http://rec.example.org'}})
        self.call(A, 'create endpoint with extra attribute', 'POST', '/v3/endpoints',
                  body={'endpoint': {'service_id': sid, 'interface': 'public',
                                     'url': 'http://rec.example.org/extra', 'weight': 5}})
        self.call(A, 'get endpoint', 'GET', '/v3/endpoints/' + eid, expect=200)
        self.call(A, 'list endpoints ?service_id=rec-service', 'GET', '/v3/endpoints?service_id=' + sid)
        self.call(A, 'list endpoints ?service_id=&interface=internal', 'GET',
                  '/v3/endpoints?service_id=%s&interface=internal' % sid)
        self.call(A, 'catalog now (rec-service is disabled)', 'GET', '/v3/auth/catalog')
        self.call(A, 'update endpoint', 'PATCH', '/v3/endpoints/' + eid,
                  body={'endpoint': {'url': 'http://rec.example.org:4321/v1', 'interface': 'admin'}})
        self.call(A, 'update endpoint: bad interface', 'PATCH', '/v3/endpoints/' + eid,
                  body={'endpoint': {'interface': 'bogus'}})
        self.call(A, 'update endpoint: region_id null', 'PATCH', '/v3/endpoints/' + eid,
                  body={'endpoint': {'region_id': None}})
        self.call(A, 'enable the service', 'PATCH', '/v3/services/' + sid,
                  body={'service': {'enabled': True}})
        self.call(A, 'catalog now (rec-service enabled)', 'GET', '/v3/auth/catalog')
        self.call(A, 'delete endpoint', 'DELETE', '/v3/endpoints/' + eid, expect=204)
        self.call(A, 'get deleted endpoint', 'GET', '/v3/endpoints/' + eid, expect=404)
        self.call(A, 'get endpoint, malformed id', 'GET', '/v3/endpoints/not%20an%20id!')
        self.call(A, 'delete a region that an endpoint refers to', 'DELETE',
                  '/v3/regions/rec-region-put')
        self.call(A, 'delete service with endpoints', 'DELETE', '/v3/services/' + sid, expect=204)
        self.call(A, 'endpoints of the deleted service', 'GET', '/v3/endpoints?service_id=' + sid)
        self.call(A, 'get deleted service', 'GET', '/v3/services/' + sid, expect=404)

    def personas(self):
        A = 'personas'
        demo = self.ids['demo']
        other = self.ids['admin_user']
        for label, me in (('member-of-demo', self.ids['demo-member']),
                          ('reader-of-demo', self.ids['demo-reader'])):
            T = label
            self.call(A, '%s: list users' % T, 'GET', '/v3/users', token=T)
            self.call(A, '%s: get self' % T, 'GET', '/v3/users/' + me, token=T)
            self.call(A, '%s: get another user' % T, 'GET', '/v3/users/' + other, token=T)
            self.call(A, '%s: update self' % T, 'PATCH', '/v3/users/' + me, token=T,
                      body={'user': {'description': 'me'}})
            self.call(A, '%s: list own projects' % T, 'GET', '/v3/users/%s/projects' % me, token=T)
            self.call(A, '%s: list another user\'s projects' % T, 'GET',
                      '/v3/users/%s/projects' % other, token=T)
            self.call(A, '%s: list projects' % T, 'GET', '/v3/projects', token=T)
            self.call(A, '%s: get demo' % T, 'GET', '/v3/projects/' + demo, token=T)
            self.call(A, '%s: get admin project' % T, 'GET', '/v3/projects/' + self.ids['admin_project'],
                      token=T)
            self.call(A, '%s: get unknown project' % T, 'GET',
                      '/v3/projects/0123456789abcdef0123456789abcdef', token=T)
            self.call(A, '%s: create project' % T, 'POST', '/v3/projects', token=T,
                      body={'project': {'name': 'rec-persona-project'}})
            self.call(A, '%s: update demo' % T, 'PATCH', '/v3/projects/' + demo, token=T,
                      body={'project': {'description': 'x'}})
            self.call(A, '%s: list roles' % T, 'GET', '/v3/roles', token=T)
            self.call(A, '%s: get role member' % T, 'GET', '/v3/roles/' + self.ids['role_member'],
                      token=T)
            self.call(A, '%s: list role assignments for demo' % T, 'GET',
                      '/v3/role_assignments?scope.project.id=' + demo, token=T)
            self.call(A, '%s: list own role assignments (user.id=self)' % T, 'GET',
                      '/v3/role_assignments?user.id=' + me, token=T)
            self.call(A, '%s: list own roles on demo' % T, 'GET',
                      '/v3/projects/%s/users/%s/roles' % (demo, me), token=T)
            self.call(A, '%s: grant a role on demo' % T, 'PUT', '/v3/projects/%s/users/%s/roles/%s'
                      % (demo, me, self.ids['role_admin']), token=T)
            self.call(A, '%s: list regions' % T, 'GET', '/v3/regions', token=T)
            self.call(A, '%s: list services' % T, 'GET', '/v3/services', token=T)
            self.call(A, '%s: list endpoints' % T, 'GET', '/v3/endpoints', token=T)
            self.call(A, '%s: create region' % T, 'POST', '/v3/regions', token=T,
                      body={'region': {'id': 'rec-persona-region'}})
            self.call(A, '%s: list domains' % T, 'GET', '/v3/domains', token=T)
            self.call(A, '%s: get Default domain' % T, 'GET', '/v3/domains/default', token=T)
            self.call(A, '%s: list role inferences' % T, 'GET', '/v3/role_inferences', token=T)
            self.call(A, '%s: validate own token' % T, 'GET', '/v3/auth/tokens', token=T, subject=T)
            self.call(A, '%s: validate admin token' % T, 'GET', '/v3/auth/tokens', token=T,
                      subject='admin')
            self.call(A, '%s: get unknown user' % T, 'GET',
                      '/v3/users/0123456789abcdef0123456789abcdef', token=T)
            self.call(A, '%s: delete demo' % T, 'DELETE', '/v3/projects/' + demo, token=T)
        T = 'admin-system'
        self.call(A, 'admin-system: list users', 'GET', '/v3/users?name=admin', token=T)
        self.call(A, 'admin-system: list projects', 'GET', '/v3/projects?name=demo', token=T)
        self.call(A, 'admin-system: get demo', 'GET', '/v3/projects/' + demo, token=T)
        self.call(A, 'admin-unscoped: list users', 'GET', '/v3/users?name=admin',
                  token='admin-unscoped')
        self.call(A, 'admin-unscoped: list projects', 'GET', '/v3/projects?name=demo',
                  token='admin-unscoped')
        self.call(A, 'admin-domain: list users (if the domain token exists)', 'GET',
                  '/v3/users?name=admin', token='admin-domain')

    def errors(self):
        A = 'errors'
        self.call(A, 'no X-Auth-Token', 'GET', '/v3/projects', token=None, expect=401)
        self.call(A, 'garbage X-Auth-Token', 'GET', '/v3/projects', token='literal:garbage-token',
                  expect=401)
        self.call(A, 'empty X-Auth-Token', 'GET', '/v3/projects', token='literal:')
        self.call(A, 'client-supplied X-OpenStack-Request-ID', 'GET', '/v3/regions/RegionOne',
                  headers={'X-OpenStack-Request-ID': 'req-11111111-2222-3333-4444-555555555555'})
        self.call(A, 'client-supplied malformed X-OpenStack-Request-ID', 'GET',
                  '/v3/regions/RegionOne', headers={'X-OpenStack-Request-ID': 'hello'})
        limit = 114688
        big = {'project': {'name': 'rec-big', 'description': 'x' * (limit + 10)}}
        raw = json.dumps(big)
        self.call(A, 'request body over max_request_body_size (114688 bytes) -> 413', 'POST',
                  '/v3/projects', raw=raw, headers={'Content-Type': 'application/json'},
                  raw_desc='<%d bytes: {"project": {"name": "rec-big", "description": "xxx..."}}>'
                  % len(raw))
        raw = json.dumps({'auth': self.pw_auth('admin', 'x' * (limit + 10))})
        self.call(A, 'auth body over max_request_body_size -> 413', 'POST', '/v3/auth/tokens',
                  token=None, raw=raw, headers={'Content-Type': 'application/json'},
                  raw_desc='<%d bytes: password auth body with a huge password>' % len(raw))
        desc = 'x' * (limit - 200)
        raw = json.dumps({'project': {'name': 'rec-nearly-big', 'description': desc}})
        r = self.call(A, 'request body just under the limit (no maxLength on description)',
                      'POST', '/v3/projects', raw=raw, headers={'Content-Type': 'application/json'},
                      raw_desc='<%d bytes: {"project": {"name": "rec-nearly-big", "description": '
                      '"xxx..."}}>' % len(raw))
        if r.json_body and 'project' in r.json_body:
            self.call(A, 'delete the big project', 'DELETE',
                      '/v3/projects/' + r.json_body['project']['id'])
        self.call(A, 'body is a JSON array', 'POST', '/v3/projects', body=[])
        self.call(A, 'body is a JSON string', 'POST', '/v3/projects', body='project')
        self.call(A, 'body is JSON null', 'POST', '/v3/projects', body=None)
        self.call(A, 'body is JSON number', 'POST', '/v3/projects', body=42)
        self.call(A, 'wrapper is not an object', 'POST', '/v3/projects', body={'project': 'x'})
        self.call(A, 'wrapper is null', 'POST', '/v3/projects', body={'project': None})
        self.call(A, 'empty wrapper', 'POST', '/v3/projects', body={'project': {}})
        self.call(A, 'empty body object', 'POST', '/v3/projects', body={})
        self.call(A, 'unknown top-level key next to the wrapper', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-toplevel'}, 'bogus': 1})
        self.call(A, 'enabled: "yes"', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-x', 'enabled': 'yes'}}, expect=400)
        self.call(A, 'enabled: 1', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-x', 'enabled': 1}})
        self.call(A, 'enabled: null', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-x', 'enabled': None}})
        self.call(A, 'name: null', 'POST', '/v3/projects', body={'project': {'name': None}},
                  expect=400)
        self.call(A, 'name: 123', 'POST', '/v3/projects', body={'project': {'name': 123}})
        self.call(A, 'name: ""', 'POST', '/v3/projects', body={'project': {'name': ''}})
        self.call(A, 'name: whitespace only', 'POST', '/v3/projects', body={'project': {'name': '   '}})
        self.call(A, 'description: 123', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-x', 'description': 123}})
        self.call(A, 'domain_id: 123', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-x', 'domain_id': 123}})
        self.call(A, 'tags: "a"', 'POST', '/v3/projects',
                  body={'project': {'name': 'rec-x', 'tags': 'a'}})
        self.call(A, 'user name: null', 'POST', '/v3/users', body={'user': {'name': None}})
        self.call(A, 'user enabled: "yes"', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-x', 'enabled': 'yes'}})
        self.call(A, 'user password: 123', 'POST', '/v3/users',
                  body={'user': {'name': 'rec-x', 'password': 123}})
        self.call(A, 'role name: null', 'POST', '/v3/roles', body={'role': {'name': None}})
        self.call(A, 'malformed JSON', 'POST', '/v3/projects', raw='{"project": ',
                  headers={'Content-Type': 'application/json'}, expect=400)
        self.call(A, 'wrong content type (text/plain)', 'POST', '/v3/projects',
                  raw=json.dumps({'project': {'name': 'rec-ct'}}),
                  headers={'Content-Type': 'text/plain'})
        self.call(A, 'no content type', 'POST', '/v3/projects',
                  raw=json.dumps({'project': {'name': 'rec-noct'}}))
        self.call(A, 'content type application/json; charset=utf-8', 'POST', '/v3/projects',
                  raw=json.dumps({'project': {'name': 'rec-charset'}}),
                  headers={'Content-Type': 'application/json; charset=utf-8'})
        self.call(A, 'empty body, JSON content type', 'POST', '/v3/projects', raw=b'',
                  headers={'Content-Type': 'application/json'})
        self.call(A, 'empty body, no content type', 'POST', '/v3/projects')
        self.call(A, 'PATCH with empty body', 'PATCH', '/v3/regions/RegionOne')
        self.call(A, 'Accept: application/xml', 'GET', '/v3/regions/RegionOne',
                  headers={'Accept': 'application/xml'})
        self.call(A, 'Accept: text/html (error)', 'GET', '/v3/regions/rec-nope',
                  headers={'Accept': 'text/html'})
        self.call(A, 'query string with bad percent-encoding', 'GET', '/v3/projects?name=%zz')
        self.call(A, 'trailing slash on a collection', 'GET', '/v3/projects/')
        self.call(A, 'trailing slash on a member', 'GET', '/v3/regions/RegionOne/')
        self.call(A, 'double slash', 'GET', '/v3//projects')
        self.call(A, 'id with a percent-encoded slash', 'GET', '/v3/regions/a%2Fb')
        self.call(A, 'GET with a body', 'GET', '/v3/regions/RegionOne', body={'x': 1})
        self.call(A, 'X-Auth-Token of a deleted user (rec-user token)', 'GET', '/v3/projects',
                  token='rec-user')

    # ------------------------------------------------------------------ notifications
    def notifications(self):
        """Each entry: the request that triggered them and the envelopes found in the log."""
        log = os.path.join(self.ks_dir, 'uwsgi.log')
        if not os.path.exists(log):
            raise SystemExit('--notifications needs %s (start with KS_NOTIFY=1)' % log)
        entries = []

        def trigger(name, method, path, **kw):
            with open(log, 'rb') as f:
                f.seek(0, 2)
                start = f.tell()
            resp = self.call('notification-triggers', name, method, path, **kw)
            time.sleep(0.3)
            with open(log, 'rb') as f:
                f.seek(start)
                text = f.read().decode('utf-8', 'replace')
            found = []
            for m in re.finditer(r' (\w+) oslo\.messaging\.notification\.(\S+) \[[^\]]*\] (\{.*\})',
                                 text):
                raw = re.sub(r'\x1b\[[0-9;]*m$', '', m.group(3))
                raw = re.sub(r'\[00m$', '', raw)
                env = json.loads(self._scrub(raw))
                found.append({'log_level': m.group(1), 'logger': 'oslo.messaging.notification.'
                              + m.group(2), 'envelope': env})
            ex = self.areas['notification-triggers'][-1]
            entries.append({'name': name, 'request': ex['request'],
                            'response_status': ex['response']['status'],
                            'notifications': found})
            print('    -> %d notification(s): %s' % (
                len(found), ', '.join(n['envelope']['event_type'] for n in found)))
            return resp

        trigger('authentication success (password, project-scoped)', 'POST', '/v3/auth/tokens',
                token=None, body={'auth': self.pw_auth('demo-member', 'pw-demo-member',
                                                       {'project': {'id': self.ids['demo']}})})
        self.tokens['notify-member'] = self.http.post(
            self.url + '/v3/auth/tokens', json={'auth': self.pw_auth(
                'demo-member', 'pw-demo-member', {'project': {'id': self.ids['demo']}})}
        ).headers['X-Subject-Token']
        trigger('authentication failure (wrong password)', 'POST', '/v3/auth/tokens', token=None,
                body={'auth': self.pw_auth('demo-member', 'wrong')})
        trigger('authentication failure (unknown user)', 'POST', '/v3/auth/tokens', token=None,
                body={'auth': self.pw_auth('rec-nobody', 'x')})
        trigger('authentication failure (no role on project)', 'POST', '/v3/auth/tokens',
                token=None, body={'auth': self.pw_auth('rec-norole', 'pw-norole',
                                                       {'project': {'id': self.ids['demo']}})})
        trigger('authentication failure (disabled user)', 'POST', '/v3/auth/tokens', token=None,
                body={'auth': self.pw_auth('rec-disabled', 'pw-disabled')})
        trigger('token validation (GET /v3/auth/tokens)', 'GET', '/v3/auth/tokens',
                subject='notify-member')
        trigger('token revocation (DELETE /v3/auth/tokens)', 'DELETE', '/v3/auth/tokens',
                subject='notify-member')
        p = trigger('project created', 'POST', '/v3/projects',
                    body={'project': {'name': 'rec-notify', 'domain_id': 'default'}})
        pid = p.json_body['project']['id']
        trigger('project updated', 'PATCH', '/v3/projects/' + pid,
                body={'project': {'description': 'changed'}})
        trigger('project disabled', 'PATCH', '/v3/projects/' + pid,
                body={'project': {'enabled': False}})
        u = trigger('user created', 'POST', '/v3/users',
                    body={'user': {'name': 'rec-notify-user', 'domain_id': 'default',
                                   'password': 'pw-notify'}})
        uid = u.json_body['user']['id']
        trigger('user updated', 'PATCH', '/v3/users/' + uid, body={'user': {'email': 'n@x.org'}})
        trigger('user disabled', 'PATCH', '/v3/users/' + uid, body={'user': {'enabled': False}})
        trigger('user added to group', 'PUT', '/v3/groups/%s/users/%s' % (self.ids['rec-group'], uid))
        pur = '/v3/projects/%s/users/%s/roles/%s' % (pid, uid, self.ids['role_member'])
        trigger('role assignment created (project, user)', 'PUT', pur)
        trigger('role assignment deleted (project, user)', 'DELETE', pur)
        dur = '/v3/domains/default/users/%s/roles/%s' % (uid, self.ids['role_reader'])
        trigger('role assignment created (domain, user)', 'PUT', dur)
        trigger('role assignment deleted (domain, user)', 'DELETE', dur)
        trigger('project deleted', 'DELETE', '/v3/projects/' + pid)
        trigger('user deleted', 'DELETE', '/v3/users/' + uid)
        r = trigger('role created', 'POST', '/v3/roles', body={'role': {'name': 'rec-notify-role'}})
        trigger('role deleted', 'DELETE', '/v3/roles/' + r.json_body['role']['id'])
        trigger('region created', 'POST', '/v3/regions', body={'region': {'id': 'rec-notify-region'}})
        trigger('region deleted', 'DELETE', '/v3/regions/rec-notify-region')
        d = trigger('domain created', 'POST', '/v3/domains', body={'domain': {'name': 'rec-notify-dom'}})
        did = d.json_body['domain']['id']
        trigger('domain disabled', 'PATCH', '/v3/domains/' + did, body={'domain': {'enabled': False}})
        trigger('domain deleted', 'DELETE', '/v3/domains/' + did)
        path = os.path.join(self.out_dir, 'notifications.json')
        os.makedirs(self.out_dir, exist_ok=True)
        with open(path, 'w') as f:
            json.dump(entries, f, indent=2, ensure_ascii=False)
            f.write('\n')
        print('wrote %s (%d triggers)' % (os.path.relpath(path, REPO), len(entries)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--url', default='http://127.0.0.1:35357')
    ap.add_argument('--password', default='secret')
    ap.add_argument('--out', default=DEFAULT_OUT)
    ap.add_argument('--ks-dir', default=os.environ.get('KS_DIR', '/tmp/keystone-rec'),
                    help='state dir of the reference (fernet keys, uwsgi.log)')
    ap.add_argument('--notifications', action='store_true',
                    help='record notifications.json from <ks-dir>/uwsgi.log (start with KS_NOTIFY=1)')
    ap.add_argument('--commit', action='store_true', help='git commit the fixtures')
    args = ap.parse_args()
    ks_dir = args.ks_dir if os.path.isdir(args.ks_dir) else None
    rec = Recorder(args.url, args.password, args.out, ks_dir)
    rec.run(args.notifications)
    rec.write()
    if rec.mismatches:
        print('\nunexpected statuses (recorded as upstream answered):')
        for m in rec.mismatches:
            print('  ' + m)
    if args.commit:
        rel = os.path.relpath(args.out, REPO)
        subprocess.run(['git', 'add', rel], cwd=REPO, check=True)
        subprocess.run(['git', 'commit', '-m', 'identity: re-record upstream Keystone fixtures',
                        '--', rel], cwd=REPO, check=False)


if __name__ == '__main__':
    sys.exit(main())
