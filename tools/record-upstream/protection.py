#!/usr/bin/python3
"""Record upstream Keystone's answers to the protection scenario (secure RBAC, every route and persona).

Runs services/identity/fixtures/protection/scenario.json against a running upstream Keystone
and writes services/identity/fixtures/protection/upstream.json: per case and persona, the
status code and, for list answers, the sorted labels of the listed objects the scenario
created. services/identity/src/api/protection.test.ts runs the same scenario against our
service and compares. The scenario format and the rules both runners follow are in
services/identity/fixtures/protection/README.md.

    npx tsc -b services/identity     # the recorder reads our default policies from dist/
    KS_REF_DIR=$PWD/tools/record-upstream/protection-ref KS_DIR=/tmp/ks-prot KS_PORT=35490 \\
        KS_PROCESSES=1 tools/record-upstream/keystone-ref-start.sh
    /usr/bin/python3 tools/record-upstream/protection.py --url http://127.0.0.1:35490 \\
        --password secret --ks-dir /tmp/ks-prot [--only case-id,id-prefix,...]

It needs a freshly started reference (the scenario's names must be free). With --ks-dir it
first makes the reference decide as our service does: our default policies (Keystone
master's secure-RBAC rules and scope types, services/identity/src/policies.ts) replace Zed's
through the WSGI wrapper in protection-ref/, [oslo_policy] enforce_scope and
enforce_new_defaults are on (as in Keystone's own tests/protection), uwsgi is reloaded, and
the roles get the shape our bootstrap (Keystone master's) gives them: admin => manager =>
member => reader, plus service. Upstream's code (targets, lookups, filtering, status codes) is
Zed's. It does not import keystone.py next to it: that module's name shadows the
keystone package, and the little HTTP it needs is simpler written here.
"""
import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

DEBIAN_PYTHON = '/usr/bin/python3'
if (os.path.exists(DEBIAN_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON)
        and not os.environ.get('KS_RECORDER_REEXEC')):
    os.environ['KS_RECORDER_REEXEC'] = '1'
    os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)

import requests  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
FIXTURES = os.path.join(REPO, 'services', 'identity', 'fixtures', 'protection')
POLICY_CONF = '\n[oslo_policy]\nenforce_scope = true\nenforce_new_defaults = true\n'
VAR = re.compile(r'\$\{([a-z_0-9]+)\}')


class SetupFailed(Exception):
    pass


# ---------------------------------------------------------------- the scenario's rules
# (protection.test.ts implements the same ones; README.md states them)

def subst(value, vars_):
    """${name} placeholders replaced in every string of a JSON value."""
    if isinstance(value, str):
        def one(m):
            if m.group(1) not in vars_:
                raise SetupFailed('no value for ${%s}' % m.group(1))
            return vars_[m.group(1)]
        return VAR.sub(one, value)
    if isinstance(value, list):
        return [subst(v, vars_) for v in value]
    if isinstance(value, dict):
        return {k: subst(v, vars_) for k, v in value.items()}
    return value


def pick(body, path):
    """A dotted path into a JSON answer: 'project.id', 'limits.0.id'."""
    cur = body
    for part in path.split('.'):
        if isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise SetupFailed('answer has no %s' % path)
    if not isinstance(cur, str):
        raise SetupFailed('%s is not a string' % path)
    return cur


def uniq(case_id, persona):
    return 'tmp-' + hashlib.sha1(('%s@%s' % (case_id, persona)).encode()).hexdigest()[:12]


def labels(item, names):
    """What a list entry says, in scenario variable names; [] for entries the scenario did not create."""
    if isinstance(item, str):
        return [item] if item.startswith('prot-') else []
    if not isinstance(item, dict):
        return []

    def name(ref):
        return names.get(ref.get('id')) if isinstance(ref, dict) else None
    if 'role' in item and 'scope' in item:  # a role assignment: actor, role and scope all shared
        actor = name(item.get('user')) or name(item.get('group'))
        role = name(item['role'])
        scope = item['scope'] if isinstance(item['scope'], dict) else {}
        if 'project' in scope:
            target = name(scope['project'])
            where = target and 'project ' + target
        elif 'domain' in scope:
            target = name(scope['domain'])
            where = target and 'domain ' + target
        else:
            where = 'system' if 'system' in scope else None
        if not (actor and role and where):
            return []
        if 'OS-INHERIT:inherited_to' in scope:
            where += ' inherited'
        return ['%s %s on %s' % (actor, role, where)]
    if 'prior_role' in item and isinstance(item.get('implies'), list):  # a role inference
        prior = name(item['prior_role'])
        return ['%s implies %s' % (prior, name(i)) for i in item['implies'] if prior and name(i)]
    if item.get('all') is True:  # /v3/auth/system
        return ['system']
    for key in ('id', 'access'):
        if isinstance(item.get(key), str) and item[key] in names:
            return [names[item[key]]]
    return []


def summarize(body, names):
    """Sorted labels of every top-level list but links, or None when the answer holds no list."""
    if not isinstance(body, dict):
        return None
    lists = [v for k, v in body.items() if k != 'links' and isinstance(v, list)]
    if not lists:
        return None
    out = set()
    for entries in lists:
        for item in entries:
            out.update(labels(item, names))
    return sorted(out)


# ---------------------------------------------------------------- running it

class Runner:
    def __init__(self, url, password, scenario):
        self.url = url.rstrip('/')
        self.admin_password = password
        self.sc = scenario
        self.http = requests.Session()
        self.vars = {}
        self.tokens = {}   # principal -> token, issued on first use

    def request(self, token, method, path, body=None, headers=None):
        h = {'Accept': 'application/json'}
        if token:
            h['X-Auth-Token'] = token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h['Content-Type'] = 'application/json'
        h.update(headers or {})
        for attempt in range(5):
            try:
                r = self.http.request(method, self.url + path, data=data, headers=h,
                                      allow_redirects=False, timeout=120)
                break
            except requests.ConnectionError:
                if attempt == 4:
                    raise
                time.sleep(0.5 * (attempt + 1))
        try:
            rbody = r.json() if r.content else None
        except ValueError:
            rbody = None
        return r.status_code, rbody, r.headers

    def issue(self, principal):
        if principal == 'admin':
            ident = {'name': 'admin', 'domain': {'id': 'default'}, 'password': self.admin_password}
            scope = {'system': {'all': True}}
        else:
            p = self.sc['personas'][principal]
            ident = {'id': self.vars[p['user']], 'password': self.sc['password']}
            s = p['scope']
            scope = ({'system': {'all': True}} if s == 'system' else
                     {'domain': {'id': self.vars[s['domain']]}} if 'domain' in s else
                     {'project': {'id': self.vars[s['project']]}})
        status, body, headers = self.request(None, 'POST', '/v3/auth/tokens', {
            'auth': {'identity': {'methods': ['password'], 'password': {'user': ident}}, 'scope': scope}})
        if status != 201:
            raise SetupFailed('token for %s: %s %s' % (principal, status, body))
        return headers['X-Subject-Token']

    def token(self, principal):
        if principal not in self.tokens:
            self.tokens[principal] = self.issue(principal)
        return self.tokens[principal]

    def step(self, step, vars_, persona):
        principal = step.get('token') or step.get('as', 'admin')
        if principal == 'persona':
            principal = persona
        if 'token' in step:
            vars_[step['id']] = self.issue(principal)
            return
        path = subst(step['path'], vars_)
        status, body, _ = self.request(self.token(principal), step['method'], path,
                                       subst(step.get('body'), vars_), subst(step.get('headers'), vars_))
        ok = status == step['expect'] if 'expect' in step else 200 <= status < 300
        if not ok:
            raise SetupFailed('%s %s as %s: %s %s' % (step['method'], path, principal, status,
                                                    json.dumps(body)[:300]))
        if 'pick' in step:
            vars_[step['id']] = pick(body, step['pick'])

    def setup(self):
        for s in self.sc['setup']:
            self.step(s, self.vars, None)
            print('setup %-6s %-70s %s' % (s['method'], s['path'][:70], self.vars.get(s.get('id'), '')))

    def names(self):
        out = {}
        for k, v in self.vars.items():
            out.setdefault(v, k)
        return out

    def cases(self, only=None):
        names = self.names()
        results = {}
        for case in self.sc['cases']:
            if only and not any(case['id'] == o or case['id'].startswith(o + '.') for o in only):
                continue
            for persona in case.get('personas') or list(self.sc['personas']):
                p = self.sc['personas'][persona]
                local = dict(self.vars)
                local.update(me=self.vars[p['user']], my_password=self.sc['password'],
                             my_token=self.token(persona), uniq=uniq(case['id'], persona))
                if isinstance(p['scope'], dict):
                    for k, v in p['scope'].items():
                        local['my_' + k] = self.vars[v]
                for s in case.get('setup', []):
                    self.step(s, local, persona)
                status, body, _ = self.request(
                    self.token(persona), case['method'], subst(case['path'], local),
                    subst(case.get('body'), local), subst(case.get('headers'), local))
                res = {'status': status}
                if 200 <= status < 300:
                    items = summarize(body, names)
                    if items is not None:
                        res['items'] = items
                results['%s@%s' % (case['id'], persona)] = res
                print('%3d %-16s %-48s %s' % (status, persona, case['id'],
                                              ' '.join(res.get('items', []))[:80]))
        return results


def our_policies():
    """The default rules our service enforces (services/identity/src/policies.ts, built)."""
    js = ('import(process.argv[1]).then((m) => process.stdout.write(JSON.stringify(m.identityPolicies.map('
          '(r) => ({name: r.name, checkStr: r.checkStr, scopeTypes: r.scopeTypes ?? null})))))')
    dist = os.path.join(REPO, 'services', 'identity', 'dist', 'policies.js')
    if not os.path.exists(dist):
        raise SystemExit('build first: npx tsc -b services/identity')
    out = subprocess.check_output(
        ['bash', '-c', '. scripts/lib/node.sh && alto_ensure_node "$PWD" && node -e "$0" "$1"', js, dist],
        cwd=REPO)
    return json.loads(out)


def configure(ks_dir, url, password):
    """Make the reference decide as our service does: our default policies (Keystone master's,
    see policies.ts) with their scope types, enforce_scope and enforce_new_defaults, and the
    roles our bootstrap makes (Keystone master's: admin => manager => member => reader, service)."""
    rules = our_policies()
    with open(os.path.join(ks_dir, 'policy-defaults.json'), 'w') as f:
        json.dump(rules, f)
    conf = os.path.join(ks_dir, 'keystone.conf')
    with open(conf) as f:
        text = f.read()
    if '[oslo_policy]' not in text:
        with open(conf, 'a') as f:
            f.write(POLICY_CONF)
    log = os.path.join(ks_dir, 'uwsgi.log')
    seen = open(log).read().count('protection-ref:')
    with open(os.path.join(ks_dir, 'uwsgi.pid')) as f:
        os.kill(int(f.read().strip()), signal.SIGHUP)
    time.sleep(2)
    for _ in range(120):
        try:
            if requests.get(url.rstrip('/') + '/v3', timeout=5).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    else:
        raise SystemExit('the reference did not come back after the reload')
    if open(log).read().count('protection-ref:') <= seen:
        raise SystemExit('the reference does not load policy-defaults.json: start it with '
                         'KS_REF_DIR=%s %s' % (os.path.join(HERE, 'protection-ref'),
                                               os.path.join(HERE, 'keystone-ref-start.sh')))
    print('reference reloaded with %d policy defaults, enforce_scope and enforce_new_defaults' % len(rules))

    r = Runner(url, password, {})
    admin = r.token('admin')
    role_ids = {}
    for name in ('admin', 'member', 'reader', 'manager', 'service'):
        status, body, _ = r.request(admin, 'GET', '/v3/roles?name=' + name)
        if body['roles']:
            role_ids[name] = body['roles'][0]['id']
        else:
            status, body, _ = r.request(admin, 'POST', '/v3/roles', {
                'role': {'name': name, 'options': {'immutable': True}}})
            role_ids[name] = body['role']['id']
    for prior, implied, method in (('admin', 'manager', 'PUT'), ('manager', 'member', 'PUT'),
                                   ('admin', 'member', 'DELETE')):
        r.request(admin, method, '/v3/roles/%s/implies/%s' % (role_ids[prior], role_ids[implied]))
    status, body, _ = r.request(admin, 'GET', '/v3/role_inferences')
    print('roles as our bootstrap makes them: %s' % ', '.join(sorted(
        '%s => %s' % (next(n for n, i in role_ids.items() if i == ri['prior_role']['id']), im['name'])
        for ri in body['role_inferences'] for im in ri['implies'])))


def write_results(path, results, version):
    lines = ['{',
             '  "recorded": %s,' % json.dumps(
                 'tools/record-upstream/protection.py against Debian python3-keystone %s with our '
                 'default policies (policies.ts), enforce_scope and enforce_new_defaults, and our '
                 "bootstrap's roles; see README.md" % version),
             '  "results": {']
    keys = list(results)
    for i, k in enumerate(keys):
        lines.append('    %s: %s%s' % (json.dumps(k), json.dumps(results[k]), ',' if i < len(keys) - 1 else ''))
    lines += ['  }', '}', '']
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--url', default='http://127.0.0.1:35490')
    ap.add_argument('--password', default='secret')
    ap.add_argument('--ks-dir', help="the reference's state dir: configure its policy options first")
    ap.add_argument('--scenario', default=os.path.join(FIXTURES, 'scenario.json'))
    ap.add_argument('--out', default=os.path.join(FIXTURES, 'upstream.json'))
    ap.add_argument('--only', help='comma-separated case ids (or id prefixes up to a dot) to record; '
                    'their results replace those in --out, the others are kept')
    args = ap.parse_args()
    only = [o.strip() for o in args.only.split(',') if o.strip()] if args.only else None
    if args.ks_dir:
        configure(args.ks_dir, args.url, args.password)
    with open(args.scenario) as f:
        scenario = json.load(f)
    r = Runner(args.url, args.password, scenario)
    status, body, _ = r.request(r.token('admin'), 'GET', '/v3/domains?name=prot-d')
    if status != 200 or body['domains']:
        raise SystemExit('the reference already holds the scenario (or is not usable): start it afresh')
    r.setup()
    results = r.cases(only)
    recorded = len(results)
    if only:
        kept = {}
        if os.path.exists(args.out):
            with open(args.out) as f:
                kept = json.load(f)['results']
        kept.update(results)
        # in scenario order, dropping results of cases the scenario no longer has
        order = ['%s@%s' % (c['id'], p) for c in scenario['cases']
                 for p in c.get('personas') or list(scenario['personas'])]
        results = {k: kept[k] for k in order if k in kept}
    version = os.popen("dpkg-query -W -f '${Version}' python3-keystone 2>/dev/null").read().strip() or '?'
    write_results(args.out, results, version)
    print('%d results recorded, %d written to %s' % (recorded, len(results), args.out))


if __name__ == '__main__':
    main()
