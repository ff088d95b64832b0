#!/usr/bin/python3
"""Send the same metadefs requests to upstream Glance (tools/glance-ref) and to alto's image API; print what differs.

Both must validate tokens against the same Keystone-compatible identity, so one token works on
both: run glance-ref against alto's identity, with alto's image service user renamed so the two
do not reset each other's `glance` password:

    ALTO_DATA_DIR=/tmp/alto-cmp ALTO_ADMIN_PASSWORD=secret ALTO_IDENTITY__API__PORT=15310 \\
      ALTO_IMAGE__API__PORT=15311 ALTO_IMAGE__KEYSTONE_AUTHTOKEN__USERNAME=alto-glance ./alto up &
    GL_DIR=/tmp/gl-cmp GL_PORT=15312 GL_METADEFS=0 KS_URL=http://127.0.0.1:15310/v3 tools/glance-ref/start.sh
    services/image/tools/compare-metadefs/compare.py --keystone http://127.0.0.1:15310/v3 \\
      --upstream http://127.0.0.1:15312 --alto http://127.0.0.1:15311 crud.txt edges.txt personas.txt

A scenario file has one request a line: `persona METHOD path [H:Header=value] [json | RAW:text]`,
personas admin, member and reader (one project), other (another project); `$R` is a random word
per run, `$ADMIN_PROJECT` and `$MEMBER_PROJECT` the personas' project ids. Errors compare by their
message (jsonschema's dump of the schema after "Failed validating" is dropped), JSON bodies with
timestamps as <ts>. Known differences, by design: where Glance answers 500 (WSME rejecting what
its JSON schema let through) alto answers 400; a failed namespace create leaves no new resource
types behind; non-ASCII namespace names are reachable (Glance decodes the path as Latin-1); the
405 wording. GET /v2/metadefs/resource_types is left out: its answer is each server's history
(alto seeds six types where GL_METADEFS=0 leaves none, and failed creates leave types upstream).
Re-runnable: personas (users md-*, projects md-a, md-b) are reused.
"""
import argparse
import json
import os
import random
import re
import string
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

TS = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ')
PASSWORD = 'md-Compare-42'


def call(method, url, body=None, headers=None, raw=None):
    h = dict(headers or {})
    data = None
    if raw is not None:
        data = raw.encode()
    elif body is not None:
        data = json.dumps(body).encode()
        h.setdefault('Content-Type', 'application/json')
    url = urllib.parse.quote(url, safe="/?&=:%,+*~")
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def token(ks, user, password, project, must=True):
    body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {'name': user, 'domain': {'id': 'default'}, 'password': password}}},
                     'scope': {'project': {'name': project, 'domain': {'id': 'default'}}}}}
    status, headers, out = call('POST', ks + '/auth/tokens', body)
    if status != 201:
        if not must:
            return None
        sys.exit('token for %s: HTTP %d %s' % (user, status, out[:200]))
    return headers['x-subject-token'], json.loads(out)['token']['project']['id']


def personas(ks, admin_password):
    admin, admin_project = token(ks, 'admin', admin_password, 'admin')
    h = {'X-Auth-Token': admin}

    def ensure(kind, name, extra):
        found = json.loads(call('GET', '%s/%ss?name=%s' % (ks, kind, name), headers=h)[2])[kind + 's']
        if found:
            return found[0]['id']
        return json.loads(call('POST', '%s/%ss' % (ks, kind), {kind: dict(name=name, **extra)}, headers=h)[2])[kind]['id']

    roles = {r['name']: r['id'] for r in json.loads(call('GET', ks + '/roles', headers=h)[2])['roles']}
    out = {'admin': (admin, admin_project)}
    for persona, project, role in [('member', 'md-a', 'member'), ('reader', 'md-a', 'reader'), ('other', 'md-b', 'member')]:
        pid = ensure('project', project, {'domain_id': 'default'})
        uid = ensure('user', 'md-' + persona, {'domain_id': 'default', 'password': PASSWORD})
        call('PUT', '%s/projects/%s/users/%s/roles/%s' % (ks, pid, uid, roles[role]), headers=h)
        out[persona] = token(ks, 'md-' + persona, PASSWORD, project, must=False)
        if out[persona] is None:
            call('PATCH', '%s/users/%s' % (ks, uid), {'user': {'password': PASSWORD}}, headers=h)
            # Keystone revokes at one-second granularity: a token from the same second would be refused
            time.sleep(1.1)
            out[persona] = token(ks, 'md-' + persona, PASSWORD, project)
    return out


def normalize(status, headers, body):
    text = body.decode(errors='replace')
    if status >= 400:
        m = re.search(r'</h1>\n  (.*?)<br /><br />', text, re.S) or re.match(r'\d{3} [^\n]*\n\n(.*?)\n\n   $', text, re.S)
        if m:
            text = m.group(1)
        text = text.replace('&#x27;', "'").replace('&quot;', '"').replace('&amp;', '&')
        return status, re.split(r'\s+Failed validating', text)[0].strip()
    if not text:
        return status, ''
    try:
        return status, TS.sub('<ts>', json.dumps(json.loads(text)))
    except ValueError:
        return status, text


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--keystone', required=True)
    p.add_argument('--upstream', required=True)
    p.add_argument('--alto', required=True)
    p.add_argument('--password', default='secret', help="the admin's password")
    p.add_argument('-v', '--verbose', action='store_true', help='print both answers for every request')
    p.add_argument('scenarios', nargs='+')
    a = p.parse_args()
    who = personas(a.keystone.rstrip('/'), a.password)
    subst = {'$R': ''.join(random.choice(string.ascii_lowercase) for _ in range(5)),
             '$ADMIN_PROJECT': who['admin'][1], '$MEMBER_PROJECT': who['member'][1]}
    here = os.path.dirname(os.path.abspath(__file__))
    differences = total = 0
    for scenario in a.scenarios:
        path = scenario if os.path.exists(scenario) else os.path.join(here, scenario)
        text = open(path).read()
        for k, v in subst.items():
            text = text.replace(k, v)
        for line in text.splitlines():
            if not line.strip() or line.startswith('#'):
                continue
            persona, method, url, *rest = line.split(None, 3)
            rest = rest[0] if rest else ''
            headers = {'X-Auth-Token': who[persona][0]}
            if rest.startswith('H:'):
                header, _, rest = rest.partition(' ')
                k, v = header[2:].split('=', 1)
                headers[k] = v
            raw = rest[4:] if rest.startswith('RAW:') else None
            body = json.loads(rest) if rest and raw is None else None
            up = normalize(*call(method, a.upstream.rstrip('/') + url, body, headers, raw))
            al = normalize(*call(method, a.alto.rstrip('/') + url, body, headers, raw))
            total += 1
            same = up == al
            differences += not same
            if not same or a.verbose:
                print('%s %s %s %s %s' % ('OK  ' if same else 'DIFF', persona, method, url, rest[:80]))
                print('   upstream %d %s' % (up[0], up[1][:1500]))
                print('   alto     %d %s' % (al[0], al[1][:1500]))
    print('%d requests, %d differences' % (total, differences))


main()
