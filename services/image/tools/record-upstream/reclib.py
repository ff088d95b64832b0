"""Shared by record.py and visibility.py: Keystone personas, the glance-ref lifecycle, HTTP calls.

Runs under Debian's /usr/bin/python3 (requests). Nothing here records anything: record.py and
visibility.py decide what goes into the fixtures.
"""
import json
import re
import os
import subprocess
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..', '..', '..'))
GLANCE_REF = os.path.join(REPO, 'tools', 'glance-ref')
TIMEOUT = 120


def reexec_under_debian_python():
    """The OpenStack libraries (requests with Debian's certifi, keystoneauth) live in /usr/bin/python3."""
    debian = '/usr/bin/python3'
    if (os.path.exists(debian) and os.path.realpath(sys.executable) != os.path.realpath(debian)
            and not os.environ.get('GL_RECORDER_REEXEC')):
        os.environ['GL_RECORDER_REEXEC'] = '1'
        os.execv(debian, [debian] + sys.argv)


class KeystoneError(Exception):
    pass


class Keystone:
    """Just enough Keystone v3 to make personas: projects, users with exact role sets, tokens, limits."""

    def __init__(self, url, admin_password):
        self.url = url.rstrip('/')
        if not self.url.endswith('/v3'):
            self.url += '/v3'
        self.admin_token = self.token('admin', admin_password, 'admin')
        self.admin_password = admin_password
        self._system_token = None
        self._roles = {}

    def _call(self, method, path, body=None, ok=(200, 201, 204), system=False):
        token = self.admin_token
        if system:
            # project limits of other projects are only listed to a system-scoped token
            if not self._system_token:
                self._system_token = self.token('admin', self.admin_password, 'system')
            token = self._system_token
        r = requests.request(method, self.url + path, json=body, timeout=TIMEOUT,
                             headers={'X-Auth-Token': token})
        if r.status_code not in ok:
            raise KeystoneError('%s %s -> %s %s' % (method, path, r.status_code, r.text))
        return r.json() if r.content else None

    def token(self, user, password, project):
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': user, 'domain': {'id': 'default'}, 'password': password}}},
            'scope': {'project': {'name': project, 'domain': {'id': 'default'}}}}}
        if project is None:
            del body['auth']['scope']
        elif project == 'system':
            body['auth']['scope'] = {'system': {'all': True}}
        r = requests.post(self.url + '/auth/tokens', json=body, timeout=TIMEOUT)
        if r.status_code != 201:
            raise KeystoneError('token for %s on %s: %s %s' % (user, project, r.status_code, r.text))
        return r.headers['X-Subject-Token']

    def role_id(self, name):
        if name not in self._roles:
            roles = self._call('GET', '/roles?name=' + name)['roles']
            if not roles:
                raise KeystoneError('no role %s' % name)
            self._roles[name] = roles[0]['id']
        return self._roles[name]

    def project_id(self, name):
        found = self._call('GET', '/projects?domain_id=default&name=' + name)['projects']
        return found[0]['id'] if found else None

    def ensure_project(self, name):
        pid = self.project_id(name)
        if pid:
            return pid
        return self._call('POST', '/projects', {'project': {
            'name': name, 'domain_id': 'default', 'description': 'glance recorder persona'}})['project']['id']

    def ensure_user(self, name, password, project_id, roles):
        """The user with exactly `roles` on `project_id` (a re-run leaves no extra role behind)."""
        found = self._call('GET', '/users?domain_id=default&name=' + name)['users']
        if found:
            uid = found[0]['id']
            try:
                self.token(name, password, None)
            except KeystoneError:
                # a password change revokes the user's tokens (see the caller's pause)
                self._call('PATCH', '/users/' + uid, {'user': {'password': password, 'enabled': True}})
        else:
            uid = self._call('POST', '/users', {'user': {
                'name': name, 'domain_id': 'default', 'password': password}})['user']['id']
        wanted = {self.role_id(r) for r in roles}
        have = {a['role']['id'] for a in self._call(
            'GET', '/role_assignments?user.id=%s&scope.project.id=%s' % (uid, project_id))['role_assignments']}
        for rid in have - wanted:
            self._call('DELETE', '/projects/%s/users/%s/roles/%s' % (project_id, uid, rid))
        for rid in wanted - have:
            self._call('PUT', '/projects/%s/users/%s/roles/%s' % (project_id, uid, rid))
        return uid

    def user_id(self, name):
        found = self._call('GET', '/users?domain_id=default&name=' + name)['users']
        return found[0]['id'] if found else None

    def set_project_limits(self, service_id, project_id, limits, region='RegionOne'):
        """Replace every limit of `project_id` for the service with `limits` {resource: value}."""
        for lim in self._call('GET', '/limits?service_id=%s&project_id=%s' % (service_id, project_id),
                              system=True)['limits']:
            self._call('DELETE', '/limits/' + lim['id'], system=True)
        if limits:
            self._call('POST', '/limits', system=True, body={'limits': [
                {'service_id': service_id, 'project_id': project_id, 'region_id': region,
                 'resource_name': k, 'resource_limit': v} for k, v in sorted(limits.items())]})


class GlanceRef:
    """tools/glance-ref started and stopped with our own state dir and port."""

    def __init__(self, gl_dir, port, ks_url, ks_password, extra_conf=None, keystone_limits=False,
                 registered_limits=None, log=print):
        self.gl_dir = os.path.abspath(gl_dir)
        self.port = port
        self.url = 'http://127.0.0.1:%d' % port
        self.ks_url = ks_url
        self.ks_password = ks_password
        self.extra_conf = extra_conf
        self.keystone_limits = keystone_limits
        self.registered_limits = registered_limits or {}
        self.log = log
        self.env = {}

    def _env(self):
        env = dict(os.environ)
        env.update({'GL_DIR': self.gl_dir, 'GL_PORT': str(self.port), 'KS_URL': self.ks_url,
                    'KS_ADMIN_PASSWORD': self.ks_password, 'GL_WORKERS': '1'})
        for k in ('GL_KEEP', 'GL_EXTRA_CONF', 'GL_KEYSTONE_LIMITS', 'GL_LIMITS', 'GL_REGISTER'):
            env.pop(k, None)
        if self.extra_conf:
            path = self.gl_dir + '.extra.conf'
            with open(path, 'w') as f:
                f.write(self.extra_conf)
            env['GL_EXTRA_CONF'] = path
        if self.keystone_limits:
            env['GL_KEYSTONE_LIMITS'] = '1'
            env['GL_LIMITS'] = ' '.join('%s=%d' % kv for kv in sorted(self.registered_limits.items()))
        return env

    def start(self):
        self.stop()
        out = subprocess.run([os.path.join(GLANCE_REF, 'start.sh')], env=self._env(),
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError('glance-ref start failed:\n%s\n%s' % (out.stdout, out.stderr))
        self.log(out.stdout.strip().splitlines()[0])
        with open(os.path.join(self.gl_dir, 'keystone-setup.env')) as f:
            self.env = dict(line.strip().split('=', 1) for line in f if '=' in line)
        return self.url

    def stop(self):
        subprocess.run([os.path.join(GLANCE_REF, 'stop.sh')], env=self._env(),
                       capture_output=True, text=True)


class Resp:
    def __init__(self, r):
        self.status = r.status_code
        self.headers = r.headers
        self.content = r.content
        self.request = r.request
        try:
            self.json = r.json() if r.content else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return '<%s %s>' % (self.status, self.content[:200])


def call(base, method, path, token=None, json_body=None, data=None, headers=None):
    """One HTTP exchange; `headers` values of None drop requests' defaults (e.g. Accept)."""
    h = {}
    if token:
        h['X-Auth-Token'] = token
    if json_body is not None:
        data = json.dumps(json_body).encode()
        h['Content-Type'] = 'application/json'
    h.update(headers or {})
    r = requests.request(method, base + path, data=data, headers=h, timeout=TIMEOUT,
                         allow_redirects=False)
    return Resp(r)


def wait_for(fn, timeout=60, interval=0.2):
    """Call fn() until it returns a true value; the last value, or None on timeout."""
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return None


UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
REQ_ID = re.compile(r'req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
TIMESTAMP = re.compile(r'\d{4}-\d\d-\d\dT\d\d(?::|%3A)\d\d(?::|%3A)\d\d(?:\.\d+)?(?:Z|[+-]\d\d(?::|%3A)?\d\d)?')


class Scrubber:
    """Placeholders for ids, timestamps and URLs; one value always gets the same placeholder."""

    def __init__(self, fixed_id_prefixes=(), fixed_timestamps=(), elide_over=None):
        # ids a scenario chose itself stay real; so do timestamps an API hard-codes
        self.fixed_id_prefixes = tuple(fixed_id_prefixes)
        self.fixed_timestamps = frozenset(fixed_timestamps)
        self.elide_over = elide_over
        self.names = {}
        self.auto = 0

    def name(self, value, placeholder):
        if value and value not in self.names:
            self.names[value] = placeholder
        return value

    def text(self, s):
        if not isinstance(s, str):
            return s
        for value in sorted(self.names, key=len, reverse=True):
            if value in s:
                s = s.replace(value, self.names[value])
        s = REQ_ID.sub('<request-id>', s)
        s = TIMESTAMP.sub(lambda m: m.group(0) if m.group(0) in self.fixed_timestamps else '<timestamp>', s)

        def unknown(m):
            v = m.group(0)
            if v.startswith(self.fixed_id_prefixes):
                return v
            if v not in self.names:
                self.auto += 1
                self.names[v] = '<uuid-%d>' % self.auto
            return self.names[v]
        return UUID.sub(unknown, s)

    def value(self, v):
        if isinstance(v, str):
            if self.elide_over is not None and len(v) > self.elide_over:
                return '%s...<%d characters in all>' % (self.text(v[:48]), len(v))
            return self.text(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {self.text(k): self.value(x) for k, x in v.items()}
        return v
