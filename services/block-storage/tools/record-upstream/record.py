#!/usr/bin/python3
"""Record what upstream Cinder (Debian 12 python3-cinder, Zed) answers, as JSON fixtures.

Starts tools/cinder-ref (api + scheduler + volume with the fake driver, its own RabbitMQ)
against a running upstream Keystone, drives it through a scripted scenario and writes one
file per API area to services/block-storage/fixtures/upstream/<area>.json. Each file is an
array of exchanges, the same shape as services/image/fixtures/upstream:

    {name, note?, request: {method, path, headers, body},
     response: {status, headers, body}}

Request headers are those sent minus transport noise (User-Agent, Accept-Encoding,
Connection); the token is written as "<persona>". Response headers are all of them but Date
and Connection, names lower-cased, x-openstack-request-id / x-compute-request-id as
"<present>". Ids, timestamps and URLs are replaced by placeholders everywhere (<volume:label>,
<project:owner>, <user:admin>, <type:label>, <timestamp>, <request-id>, <cinder>, ...), the
same value always by the same placeholder; content-length stays upstream's real value.
Free-standing {name: "note"} entries record what polling saw (status sequences).

    KS_DIR=/tmp/ks-cinder KS_PORT=35430 KS_PROCESSES=1 /work/shared/tools/keystone-ref/start.sh
    /usr/bin/python3 services/block-storage/tools/record-upstream/record.py \\
        --ks-url http://127.0.0.1:35430/v3 --password secret [--only volumes,errors]

Re-runnable: Keystone personas are reused (names start with cirec-), Cinder starts from an
empty database each time (CI_DIR /tmp/ci-rec, port 18776 unless told otherwise).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..', '..', '..'))
# Keystone personas and the HTTP call are the image recorder's (generic, Glance-free parts)
sys.path.insert(0, os.path.join(REPO, 'services', 'image', 'tools', 'record-upstream'))
import reclib  # noqa: E402

if (os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != '/usr/bin/python3'
        and not os.environ.get('CI_RECORDER_REEXEC')):
    os.environ['CI_RECORDER_REEXEC'] = '1'
    os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)

OUT = os.path.join(REPO, 'services', 'block-storage', 'fixtures', 'upstream')
CINDER_REF = os.path.join(REPO, 'tools', 'cinder-ref')
PASSWORD = 'cirec-Secret-42'
# persona -> (user, project, roles); admin is Keystone's bootstrap admin on project admin
PERSONAS = {
    'member': ('cirec-owner-member', 'cirec-owner', ['member']),
    'reader': ('cirec-owner-reader', 'cirec-owner', ['reader']),
    'other': ('cirec-other-member', 'cirec-other', ['member']),
    'quota': ('cirec-quota-member', 'cirec-quota', ['member']),
}
DROP_REQUEST_HEADERS = {'user-agent', 'accept-encoding', 'connection'}
DROP_RESPONSE_HEADERS = {'date', 'connection'}
NOTHING = object()
FIXED_ID_PREFIXES = ('00000000-0000-4000-8000-',)
MISSING = '00000000-0000-4000-8000-000000000404'
# Zed's versions document carries fixed dates; they stay as they are
FIXED_TIMESTAMPS = ('2011-01-21T11:33:21Z', '2014-06-28T12:20:21Z', '2016-02-08T12:20:21Z')
LATEST = '3.70'


def mv(version):
    return {'OpenStack-API-Version': 'volume ' + version}



def body_view(data, content_type):
    if data is None or data == b'':
        return None
    if isinstance(data, str):
        data = data.encode()
    if 'json' in (content_type or ''):
        try:
            return json.loads(data)
        except ValueError:
            pass
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        return {'<bytes>': len(data)}


def sort_services(body):
    """os-services sorted by binary: upstream lists them in database order, i.e. whichever of
    cinder-scheduler and cinder-volume registered first at startup, which varies by run."""
    if isinstance(body, dict) and isinstance(body.get('services'), list):
        return dict(body, services=sorted(body['services'], key=lambda x: (x.get('binary', ''), x.get('host', ''))))
    return body


def ends(seen):
    """What polling saw, for a note: the final status only. The intermediate ones (creating,
    extending, retyping, deleting) come and go faster or slower than the poll from one run to
    the next; NOTES.md lists them."""
    return seen[-1]


def dump(value):
    return json.dumps(value, indent=1, ensure_ascii=False) + '\n'


class Recorder:
    def __init__(self, args):
        self.args = args
        self.scrub = reclib.Scrubber(FIXED_ID_PREFIXES, FIXED_TIMESTAMPS)
        self.areas = {}
        self.area = None
        self.tokens = {}
        self.ids = {}
        self.base = 'http://127.0.0.1:%d' % args.ci_port

    def log(self, *a):
        print(*a, flush=True)

    # ---------------------------------------------------------------- plumbing
    def x(self, name, method, path, as_='admin', body=NOTHING, data=None, headers=None,
          note=None, record=True):
        """One exchange; '{p}' in path is the persona's project id."""
        path = path.replace('{p}', self.ids.get(as_) or self.ids['admin'])
        token = self.tokens.get(as_) if as_ else None
        r = reclib.call(self.base, method, path, token=token,
                        json_body=None if body is NOTHING else body, data=data, headers=headers)
        if record:
            self.record(name, r, as_, note)
        return r

    def record(self, name, r, as_, note=None):
        req = r.request
        req_headers = {}
        for k, v in req.headers.items():
            lk = k.lower()
            if lk in DROP_REQUEST_HEADERS:
                continue
            if lk == 'x-auth-token':
                v = '<%s>' % as_ if as_ and v == self.tokens.get(as_) else '<token>'
            req_headers[k] = v
        resp_headers = {}
        for k, v in r.headers.items():
            lk = k.lower()
            if lk in DROP_RESPONSE_HEADERS:
                continue
            if lk in ('x-openstack-request-id', 'x-compute-request-id'):
                v = '<present>'
            resp_headers[lk] = v
        ex = {'name': name}
        if note:
            ex['note'] = note
        ex['request'] = {'method': req.method, 'path': req.path_url, 'headers': req_headers,
                         'body': body_view(req.body, req.headers.get('Content-Type'))}
        ex['response'] = {'status': r.status, 'headers': resp_headers,
                          'body': sort_services(body_view(r.content, r.headers.get('Content-Type')))}
        self.areas.setdefault(self.area, []).append(ex)
        self.log('  %-64s %s' % (name, r.status))

    def note(self, text):
        self.areas.setdefault(self.area, []).append({'name': 'note', 'note': text})

    def write(self):
        os.makedirs(OUT, exist_ok=True)
        for area, exchanges in self.areas.items():
            path = os.path.join(OUT, area + '.json')
            with open(path, 'w') as f:
                f.write(dump(self.scrub.value(exchanges)))
            self.log('wrote %s (%d exchanges)' % (os.path.relpath(path, REPO), len(exchanges)))

    # ---------------------------------------------------------------- setup
    def ref_env(self, extra_conf=None):
        env = dict(os.environ)
        env.update({'CI_DIR': self.args.ci_dir, 'CI_PORT': str(self.args.ci_port),
                    'KS_URL': self.args.ks_url, 'KS_ADMIN_PASSWORD': self.args.password,
                    'CI_REGISTER': '1'})
        for k in ('CI_KEEP', 'CI_EXTRA_CONF', 'CI_TRANSPORT_URL'):
            env.pop(k, None)
        return env

    def start_cinder(self):
        self.stop_cinder()
        out = subprocess.run([os.path.join(CINDER_REF, 'start.sh')], env=self.ref_env(),
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError('cinder-ref start failed:\n%s\n%s' % (out.stdout, out.stderr))
        self.log(out.stdout.strip().splitlines()[0])
        self.scrub.name(self.base, '<cinder>')
        self.scrub.name(self.args.ks_url.rstrip('/').rsplit('/v3', 1)[0], '<keystone>')

    def stop_cinder(self):
        subprocess.run([os.path.join(CINDER_REF, 'stop.sh')], env=self.ref_env(),
                       capture_output=True, text=True)

    def setup_personas(self):
        ks = reclib.Keystone(self.args.ks_url, self.args.password)
        self.tokens['admin'] = ks.admin_token
        self.ids['admin'] = self.scrub.name(ks.project_id('admin'), '<project:admin>')
        self.ids['user:admin'] = self.scrub.name(ks.user_id('admin'), '<user:admin>')
        for persona, (user, project, roles) in PERSONAS.items():
            pid = ks.ensure_project(project)
            uid = ks.ensure_user(user, PASSWORD, pid, roles)
            self.ids[persona] = pid
            self.ids['user:' + persona] = uid
            self.scrub.name(pid, '<project:%s>' % project.replace('cirec-', ''))
            self.scrub.name(uid, '<user:%s>' % user.replace('cirec-', ''))
        time.sleep(1.1)   # tokens issued in the second of a password change are refused
        for persona, (user, project, roles) in PERSONAS.items():
            self.tokens[persona] = ks.token(user, PASSWORD, project)
        self.tokens['none'] = None
        self.ks = ks

    def name_defaults(self):
        """The default type the migrations create gets its own placeholder."""
        for t in self.get('/v3/{p}/types').json['volume_types']:
            self.scrub.name(t['id'], '<type:%s>' % t['name'])

    # ---------------------------------------------------------------- helpers
    def get(self, path, as_='admin', headers=None):
        return self.x('get', 'GET', path, as_=as_, headers=headers, record=False)

    def wait_status(self, kind, rid, wanted, as_='admin', timeout=60):
        """Poll /<kind>s/<id> until its status is in `wanted`; the statuses seen."""
        seen = []
        end = time.time() + timeout
        while time.time() < end:
            r = self.get('/v3/{p}/%ss/%s' % (kind, rid), as_=as_)
            if r.status == 404:
                st = '<404>'
            else:
                st = r.json[kind]['status']
            if not seen or seen[-1] != st:
                seen.append(st)
            if st in wanted:
                return seen
            time.sleep(0.2)
        raise RuntimeError('%s %s stuck: %s' % (kind, rid, seen))

    def volume(self, label, as_='admin', record_as=None, wait=True, **fields):
        body = {'volume': dict({'size': 1, 'name': label}, **fields)}
        r = self.x(record_as or 'create ' + label, 'POST', '/v3/{p}/volumes', as_=as_, body=body,
                   record=record_as is not None)
        if r.status != 202:
            raise RuntimeError('create volume %s: %s' % (label, r))
        vid = r.json['volume']['id']
        self.scrub.name(vid, '<volume:%s>' % label)
        if wait:
            seen = self.wait_status('volume', vid, ('available', 'error'), as_=as_)
            if record_as:
                self.note('%s: status after polling: %s' % (label, ends(seen)))
        return vid

    def snapshot(self, label, vid, as_='admin', record_as=None, **fields):
        body = {'snapshot': dict({'volume_id': vid, 'name': label}, **fields)}
        r = self.x(record_as or 'create snapshot ' + label, 'POST', '/v3/{p}/snapshots', as_=as_,
                   body=body, record=record_as is not None)
        if r.status != 202:
            raise RuntimeError('create snapshot %s: %s' % (label, r))
        sid = r.json['snapshot']['id']
        self.scrub.name(sid, '<snapshot:%s>' % label)
        seen = self.wait_status('snapshot', sid, ('available', 'error'), as_=as_)
        if record_as:
            self.note('%s: status after polling: %s' % (label, ends(seen)))
        return sid

    def vtype(self, label, record_as=None, **fields):
        r = self.x(record_as or 'create type ' + label, 'POST', '/v3/{p}/types',
                   body={'volume_type': dict({'name': label}, **fields)}, record=record_as is not None)
        if r.status != 200:
            raise RuntimeError('create type %s: %s' % (label, r))
        tid = r.json['volume_type']['id']
        self.scrub.name(tid, '<type:%s>' % label)
        return tid

    def cleanup(self):
        """Delete every attachment, snapshot and volume of every project (admin)."""
        for a in self.get('/v3/{p}/attachments?all_tenants=1', headers=mv('3.27')).json['attachments']:
            self.x('del', 'DELETE', '/v3/{p}/attachments/' + a['id'], headers=mv('3.27'), record=False)
        for s in self.get('/v3/{p}/snapshots?all_tenants=1').json['snapshots']:
            self.x('del', 'DELETE', '/v3/{p}/snapshots/' + s['id'], record=False)
        for s in self.get('/v3/{p}/snapshots?all_tenants=1').json['snapshots']:
            self.wait_status('snapshot', s['id'], ('<404>', 'error_deleting'))
        # one at a time: three processes share the SQLite file, and concurrent deletes made
        # cinder-volume's quota update hit "database is locked"
        for v in self.get('/v3/{p}/volumes?all_tenants=1').json['volumes']:
            # a volume deleted while the scheduler still holds its create leaves an
            # "unknown error" message behind (the scheduler then finds no volume)
            self.wait_status('volume', v['id'], ('available', 'error', 'in-use', 'reserved',
                                                 'attaching', 'error_extending', '<404>'))
            r = self.x('del', 'DELETE', '/v3/{p}/volumes/%s?cascade=true' % v['id'], record=False)
            if r.status == 400:
                self.x('reset', 'POST', '/v3/{p}/volumes/%s/action' % v['id'],
                       body={'os-reset_status': {'status': 'available', 'attach_status': 'detached'}},
                       record=False)
                self.x('del', 'DELETE', '/v3/{p}/volumes/%s?cascade=true' % v['id'], record=False)
            self.wait_status('volume', v['id'], ('<404>', 'error_deleting'))


# ==================================================================== areas
def area_versions(rec):
    rec.x('GET / (no token): the version list', 'GET', '/', as_='none')
    rec.x('GET /v3/ (no token)', 'GET', '/v3/', as_='none')
    rec.x('GET /v3/ with a microversion header', 'GET', '/v3/', as_='none', headers=mv('3.50'))
    rec.x('GET /v3/{p}/volumes without microversion: 3.0 assumed', 'GET', '/v3/{p}/volumes')
    rec.x('GET /v3/{p}/volumes at 3.0', 'GET', '/v3/{p}/volumes', headers=mv('3.0'))
    rec.x('GET /v3/{p}/volumes at latest', 'GET', '/v3/{p}/volumes', headers=mv('latest'))
    rec.x('GET /v3/{p}/volumes at %s (max)' % LATEST, 'GET', '/v3/{p}/volumes', headers=mv(LATEST))
    rec.x('legacy header X-OpenStack-Volume-API-Version 3.10 ignored?', 'GET', '/v3/{p}/volumes',
          headers={'X-OpenStack-Volume-API-Version': '3.10'})
    rec.x('header for another service ("compute 2.1")', 'GET', '/v3/{p}/volumes',
          headers={'OpenStack-API-Version': 'compute 2.1'})
    rec.x('GET /v3/volumes without project id at 3.67', 'GET', '/v3/volumes', headers=mv('3.67'))
    rec.x('GET /v3/volumes without project id at 3.66', 'GET', '/v3/volumes', headers=mv('3.66'))
    rec.x('GET /healthcheck', 'GET', '/healthcheck', as_='none')


def area_errors(rec):
    rec.x('401 without token', 'GET', '/v3/{p}/volumes', as_='none')
    rec.x('401 with a bad token', 'GET', '/v3/{p}/volumes', as_='none',
          headers={'X-Auth-Token': 'not-a-token'})
    rec.x('404 unknown volume', 'GET', '/v3/{p}/volumes/' + MISSING)
    rec.x('404 volume id not a uuid', 'GET', '/v3/{p}/volumes/nope')
    rec.x('404 unknown path', 'GET', '/v3/{p}/nothing-here')
    rec.x('project id in path is another project (member)', 'GET', '/v3/%s/volumes' % rec.ids['other'],
          as_='member')
    rec.x('400 body not JSON', 'POST', '/v3/{p}/volumes', data=b'{not json',
          headers={'Content-Type': 'application/json'})
    rec.x('400 body without "volume"', 'POST', '/v3/{p}/volumes', body={'size': 1})
    rec.x('400 size missing', 'POST', '/v3/{p}/volumes', body={'volume': {'name': 'x'}})
    rec.x('400 size 0', 'POST', '/v3/{p}/volumes', body={'volume': {'size': 0}})
    rec.x('400 size "abc"', 'POST', '/v3/{p}/volumes', body={'volume': {'size': 'abc'}})
    rec.x('400 unknown property', 'POST', '/v3/{p}/volumes', body={'volume': {'size': 1, 'colour': 'red'}})
    rec.x('404 unknown volume type', 'POST', '/v3/{p}/volumes',
          body={'volume': {'size': 1, 'volume_type': 'no-such-type'}})
    rec.x('400 unknown availability zone', 'POST', '/v3/{p}/volumes',
          body={'volume': {'size': 1, 'availability_zone': 'nowhere'}})
    rec.x('400 name too long (256)', 'POST', '/v3/{p}/volumes', body={'volume': {'size': 1, 'name': 'n' * 256}})
    rec.x('405? DELETE on the collection', 'DELETE', '/v3/{p}/volumes')
    rec.x('405? PUT on the collection', 'PUT', '/v3/{p}/volumes', body={'volume': {}})
    rec.x('406 unknown microversion 3.99', 'GET', '/v3/{p}/volumes', headers=mv('3.99'))
    rec.x('400 malformed microversion', 'GET', '/v3/{p}/volumes', headers=mv('3.x'))
    rec.x('406? microversion 2.0', 'GET', '/v3/{p}/volumes', headers=mv('2.0'))
    rec.x('404 action needs newer microversion (attachments at 3.26)', 'GET', '/v3/{p}/attachments',
          headers=mv('3.26'))
    rec.x('413 body over osapi_max_request_body_size', 'POST', '/v3/{p}/volumes',
          data=json.dumps({'volume': {'size': 1, 'description': 'd' * 120000}}).encode(),
          headers={'Content-Type': 'application/json'})
    rec.x('403 reader creates a volume', 'POST', '/v3/{p}/volumes', as_='reader', body={'volume': {'size': 1}})
    rec.x('403 member creates a volume type', 'POST', '/v3/{p}/types', as_='member',
          body={'volume_type': {'name': 'x'}})
    rec.x('invalid filter key', 'GET', '/v3/{p}/volumes?colour=red')
    rec.x('invalid sort key', 'GET', '/v3/{p}/volumes?sort=colour:asc')
    rec.x('invalid limit', 'GET', '/v3/{p}/volumes?limit=-1')
    rec.x('invalid marker', 'GET', '/v3/{p}/volumes?marker=' + MISSING)


def area_volumes(rec):
    t = rec.vtype('gold', extra_specs={'volume_backend_name': 'fake'})
    a = rec.volume('a', as_='member', record_as='create without type (member)')
    rec.x('show (member, 3.0)', 'GET', '/v3/{p}/volumes/' + a, as_='member')
    rec.x('show (member, %s)' % LATEST, 'GET', '/v3/{p}/volumes/' + a, as_='member', headers=mv(LATEST))
    rec.x('show (admin, own project in the URL: host attrs)', 'GET', '/v3/{p}/volumes/' + a)
    rec.x('show (admin, owner project in the URL: 400)', 'GET', '/v3/%s/volumes/%s' % (rec.ids['member'], a))
    rec.x('show (other project: 404)', 'GET', '/v3/{p}/volumes/' + a, as_='other')
    b = rec.volume('b', as_='member', record_as='create with type by name, metadata, description',
                   volume_type='gold', metadata={'k': 'v'}, description='desc b')
    rec.volume('c', as_='member', record_as='create with type by id, az nova, size 2',
               volume_type=t, availability_zone='nova', size=2)
    rec.x('create at %s (response fields)' % LATEST, 'POST', '/v3/{p}/volumes', as_='member',
          body={'volume': {'size': 1, 'name': 'd'}}, headers=mv(LATEST))
    d = [v['id'] for v in rec.get('/v3/{p}/volumes', as_='member').json['volumes'] if v['name'] == 'd'][0]
    rec.scrub.name(d, '<volume:d>')
    rec.wait_status('volume', d, ('available',), as_='member')
    rec.x('create with size as string "1"', 'POST', '/v3/{p}/volumes', as_='member',
          body={'volume': {'size': '1', 'name': 'e'}})
    e = [v['id'] for v in rec.get('/v3/{p}/volumes', as_='member').json['volumes'] if v['name'] == 'e'][0]
    rec.scrub.name(e, '<volume:e>')
    rec.wait_status('volume', e, ('available',), as_='member')
    rec.x('list (member)', 'GET', '/v3/{p}/volumes', as_='member')
    rec.x('list detail (member)', 'GET', '/v3/{p}/volumes/detail', as_='member')
    rec.x('list detail (reader)', 'GET', '/v3/{p}/volumes/detail', as_='reader')
    rec.x('list (other: empty)', 'GET', '/v3/{p}/volumes', as_='other')
    rec.x('list limit=2', 'GET', '/v3/{p}/volumes?limit=2', as_='member')
    rec.x('list limit=2 marker', 'GET', '/v3/{p}/volumes?limit=2&marker=' + b, as_='member')
    rec.x('list sort=name:asc', 'GET', '/v3/{p}/volumes?sort=name:asc', as_='member')
    rec.x('list sort_key=size&sort_dir=desc', 'GET', '/v3/{p}/volumes?sort_key=size&sort_dir=desc', as_='member')
    rec.x('list name=b', 'GET', '/v3/{p}/volumes?name=b', as_='member')
    rec.x('list name~=b at 3.34 (like filter)', 'GET', '/v3/{p}/volumes?name~=b', as_='member', headers=mv('3.34'))
    rec.x('list status=available', 'GET', '/v3/{p}/volumes?status=available', as_='member')
    rec.x('list metadata filter', 'GET', '/v3/{p}/volumes?metadata=%7B%22k%22%3A%22v%22%7D', as_='member')
    rec.x('list with_count at 3.45', 'GET', '/v3/{p}/volumes?with_count=true&limit=1', as_='member',
          headers=mv('3.45'))
    rec.x('summary at 3.12', 'GET', '/v3/{p}/volumes/summary', as_='member', headers=mv('3.12'))
    rec.x('list all_tenants (admin)', 'GET', '/v3/{p}/volumes?all_tenants=1')
    rec.x('list all_tenants (member: ignored?)', 'GET', '/v3/{p}/volumes?all_tenants=1', as_='member')
    rec.x('list project_id filter (admin, all_tenants)', 'GET',
          '/v3/{p}/volumes?all_tenants=1&project_id=' + rec.ids['member'])
    rec.x('update name/description', 'PUT', '/v3/{p}/volumes/' + a, as_='member',
          body={'volume': {'name': 'a2', 'description': 'new'}})
    rec.x('update metadata via PUT volume', 'PUT', '/v3/{p}/volumes/' + a, as_='member',
          body={'volume': {'metadata': {'x': 'y'}}})
    rec.x('update size (not allowed)', 'PUT', '/v3/{p}/volumes/' + a, as_='member',
          body={'volume': {'size': 5}})
    rec.x('update empty body', 'PUT', '/v3/{p}/volumes/' + a, as_='member', body={'volume': {}})
    rec.x('update (reader: 403)', 'PUT', '/v3/{p}/volumes/' + a, as_='reader',
          body={'volume': {'name': 'r'}})
    rec.x('metadata: show', 'GET', '/v3/{p}/volumes/%s/metadata' % b, as_='member')
    rec.x('metadata: POST merge', 'POST', '/v3/{p}/volumes/%s/metadata' % b, as_='member',
          body={'metadata': {'k2': 'v2'}})
    rec.x('metadata: PUT replace', 'PUT', '/v3/{p}/volumes/%s/metadata' % b, as_='member',
          body={'metadata': {'k3': 'v3'}})
    rec.x('metadata: show key', 'GET', '/v3/{p}/volumes/%s/metadata/k3' % b, as_='member')
    rec.x('metadata: show missing key', 'GET', '/v3/{p}/volumes/%s/metadata/nope' % b, as_='member')
    rec.x('metadata: PUT key', 'PUT', '/v3/{p}/volumes/%s/metadata/k3' % b, as_='member',
          body={'meta': {'k3': 'v33'}})
    rec.x('metadata: PUT key, body key differs', 'PUT', '/v3/{p}/volumes/%s/metadata/k3' % b, as_='member',
          body={'meta': {'other': 'v'}})
    rec.x('metadata: DELETE key', 'DELETE', '/v3/{p}/volumes/%s/metadata/k3' % b, as_='member')
    rec.x('delete (member)', 'DELETE', '/v3/{p}/volumes/' + e, as_='member')
    seen = rec.wait_status('volume', e, ('<404>',), as_='member')
    rec.note('e after delete: %s' % ends(seen))
    rec.x('delete again: 404', 'DELETE', '/v3/{p}/volumes/' + e, as_='member')
    rec.x('delete (reader: 403)', 'DELETE', '/v3/{p}/volumes/' + d, as_='reader')
    rec.x('delete with snapshot (400)', 'DELETE', '/v3/{p}/volumes/' + a, as_='member',
          note='(only 400 when it has snapshots; here it has none: 202)')
    rec.wait_status('volume', a, ('<404>',), as_='member')


def area_types(rec):
    rec.x('list types (member): the default type', 'GET', '/v3/{p}/types', as_='member')
    rec.x('list types (admin)', 'GET', '/v3/{p}/types')
    rec.x('default type', 'GET', '/v3/{p}/types/default', as_='member')
    t = rec.vtype('silver', record_as='create type (admin)', description='silver type',
                  extra_specs={'volume_backend_name': 'fake', 'k': 'v'})
    rec.x('create duplicate name (409)', 'POST', '/v3/{p}/types', body={'volume_type': {'name': 'silver'}})
    rec.x('create without name (400)', 'POST', '/v3/{p}/types', body={'volume_type': {}})
    rec.x('show type (member)', 'GET', '/v3/{p}/types/' + t, as_='member')
    rec.x('show type by name? (member)', 'GET', '/v3/{p}/types/silver', as_='member')
    rec.x('show unknown type', 'GET', '/v3/{p}/types/' + MISSING)
    rec.x('update type', 'PUT', '/v3/{p}/types/' + t, body={'volume_type': {'description': 'changed', 'is_public': True}})
    rec.x('extra specs: list (admin)', 'GET', '/v3/{p}/types/%s/extra_specs' % t)
    rec.x('extra specs: list (member)', 'GET', '/v3/{p}/types/%s/extra_specs' % t, as_='member')
    rec.x('extra specs: create', 'POST', '/v3/{p}/types/%s/extra_specs' % t,
          body={'extra_specs': {'k2': 'v2', 'multiattach': '<is> True'}})
    rec.x('extra specs: show key', 'GET', '/v3/{p}/types/%s/extra_specs/k2' % t)
    rec.x('extra specs: update key', 'PUT', '/v3/{p}/types/%s/extra_specs/k2' % t, body={'k2': 'v22'})
    rec.x('extra specs: update key, body differs (400)', 'PUT', '/v3/{p}/types/%s/extra_specs/k2' % t,
          body={'zz': 'v'})
    rec.x('extra specs: delete key', 'DELETE', '/v3/{p}/types/%s/extra_specs/k2' % t)
    rec.x('extra specs: show deleted key', 'GET', '/v3/{p}/types/%s/extra_specs/k2' % t)
    rec.x('list types filter is_public=false', 'GET', '/v3/{p}/types?is_public=false')
    p = rec.vtype('private', record_as='create private type', **{'os-volume-type-access:is_public': False})
    rec.x('private type invisible to member', 'GET', '/v3/{p}/types/' + p, as_='member')
    rec.x('access: list', 'GET', '/v3/{p}/types/%s/os-volume-type-access' % p)
    rec.x('access: addProjectAccess', 'POST', '/v3/{p}/types/%s/action' % p,
          body={'addProjectAccess': {'project': rec.ids['member']}})
    rec.x('access: list after add', 'GET', '/v3/{p}/types/%s/os-volume-type-access' % p)
    rec.x('private type visible to member now', 'GET', '/v3/{p}/types/' + p, as_='member')
    rec.x('access: add twice (409)', 'POST', '/v3/{p}/types/%s/action' % p,
          body={'addProjectAccess': {'project': rec.ids['member']}})
    rec.x('access: removeProjectAccess', 'POST', '/v3/{p}/types/%s/action' % p,
          body={'removeProjectAccess': {'project': rec.ids['member']}})
    rec.x('access on a public type (400)', 'GET', '/v3/{p}/types/%s/os-volume-type-access' % t)
    rec.x('delete type', 'DELETE', '/v3/{p}/types/' + p)
    rec.x('delete default type (400)', 'DELETE', '/v3/{p}/types/' + [
        x['id'] for x in rec.get('/v3/{p}/types').json['volume_types'] if x['name'] == '__DEFAULT__'][0])
    v = rec.volume('typed', volume_type='silver')
    rec.x('delete type in use (400)', 'DELETE', '/v3/{p}/types/' + t)
    rec.x('delete volume', 'DELETE', '/v3/{p}/volumes/' + v, record=False)
    rec.wait_status('volume', v, ('<404>',))
    rec.x('default types at 3.62: list', 'GET', '/v3/default-types', headers=mv('3.62'))
    rec.x('default types at 3.62: set for project', 'PUT', '/v3/default-types/' + rec.ids['member'],
          headers=mv('3.62'), body={'default_type': {'volume_type': 'silver'}})
    rec.x('default type of member now', 'GET', '/v3/{p}/types/default', as_='member')
    rec.x('default types at 3.62: unset', 'DELETE', '/v3/default-types/' + rec.ids['member'], headers=mv('3.62'))
    rec.x('create encryption type', 'POST', '/v3/{p}/types/%s/encryption' % t,
          body={'encryption': {'provider': 'luks', 'control_location': 'front-end', 'cipher': 'aes-xts-plain64',
                               'key_size': 256}})
    rec.x('show encryption type', 'GET', '/v3/{p}/types/%s/encryption' % t)
    rec.x('delete encryption type', 'DELETE', '/v3/{p}/types/%s/encryption/provider' % t)


def area_qos(rec):
    r = rec.x('create qos specs', 'POST', '/v3/{p}/qos-specs',
              body={'qos_specs': {'name': 'q1', 'consumer': 'back-end', 'read_iops_sec': '100'}})
    q = r.json['qos_specs']['id']
    rec.scrub.name(q, '<qos:q1>')
    rec.x('create duplicate (409)', 'POST', '/v3/{p}/qos-specs', body={'qos_specs': {'name': 'q1'}})
    rec.x('create bad consumer (400)', 'POST', '/v3/{p}/qos-specs', body={'qos_specs': {'name': 'q2', 'consumer': 'x'}})
    rec.x('list', 'GET', '/v3/{p}/qos-specs')
    rec.x('list (member: 403)', 'GET', '/v3/{p}/qos-specs', as_='member')
    rec.x('show', 'GET', '/v3/{p}/qos-specs/' + q)
    rec.x('set keys', 'PUT', '/v3/{p}/qos-specs/' + q, body={'qos_specs': {'write_iops_sec': '50'}})
    rec.x('delete keys', 'PUT', '/v3/{p}/qos-specs/%s/delete_keys' % q, body={'keys': ['write_iops_sec']})
    t = rec.vtype('qostype')
    rec.x('associate', 'GET', '/v3/{p}/qos-specs/%s/associate?vol_type_id=%s' % (q, t))
    rec.x('associations', 'GET', '/v3/{p}/qos-specs/%s/associations' % q)
    rec.x('type shows qos_specs_id', 'GET', '/v3/{p}/types/' + t)
    rec.x('delete associated (400?)', 'DELETE', '/v3/{p}/qos-specs/' + q)
    rec.x('disassociate', 'GET', '/v3/{p}/qos-specs/%s/disassociate?vol_type_id=%s' % (q, t))
    rec.x('disassociate_all', 'GET', '/v3/{p}/qos-specs/%s/disassociate_all' % q)
    rec.x('delete', 'DELETE', '/v3/{p}/qos-specs/' + q)
    rec.x('show deleted', 'GET', '/v3/{p}/qos-specs/' + q)
    rec.x('delete type', 'DELETE', '/v3/{p}/types/' + t, record=False)


def area_snapshots(rec):
    v = rec.volume('sv', as_='member')
    s = rec.snapshot('s1', v, as_='member', record_as='create snapshot (member)', description='d1')
    rec.x('show', 'GET', '/v3/{p}/snapshots/' + s, as_='member')
    rec.x('show at %s' % LATEST, 'GET', '/v3/{p}/snapshots/' + s, as_='member', headers=mv(LATEST))
    rec.x('show (admin: extended attrs)', 'GET', '/v3/{p}/snapshots/' + s)
    rec.x('list', 'GET', '/v3/{p}/snapshots', as_='member')
    rec.x('list detail', 'GET', '/v3/{p}/snapshots/detail', as_='member')
    rec.x('list volume_id filter', 'GET', '/v3/{p}/snapshots?volume_id=' + v, as_='member')
    rec.x('update', 'PUT', '/v3/{p}/snapshots/' + s, as_='member', body={'snapshot': {'name': 's1b', 'description': 'x'}})
    rec.x('metadata: set', 'POST', '/v3/{p}/snapshots/%s/metadata' % s, as_='member', body={'metadata': {'a': 'b'}})
    rec.x('metadata: show', 'GET', '/v3/{p}/snapshots/%s/metadata' % s, as_='member')
    rec.x('create from unknown volume (404)', 'POST', '/v3/{p}/snapshots', as_='member',
          body={'snapshot': {'volume_id': MISSING}})
    rec.x('create without volume_id (400)', 'POST', '/v3/{p}/snapshots', as_='member', body={'snapshot': {}})
    rec.x('delete volume with snapshot (400)', 'DELETE', '/v3/{p}/volumes/' + v, as_='member')
    w = rec.volume('from-snap', as_='member', record_as='create volume from snapshot', snapshot_id=s)
    rec.x('show volume from snapshot', 'GET', '/v3/{p}/volumes/' + w, as_='member')
    rec.x('create volume from snapshot, smaller size (400)', 'POST', '/v3/{p}/volumes', as_='member',
          body={'volume': {'size': 0, 'snapshot_id': s}})
    c = rec.volume('clone', as_='member', record_as='create volume from volume (clone)', source_volid=v)
    rec.x('show clone', 'GET', '/v3/{p}/volumes/' + c, as_='member')
    rec.x('delete snapshot', 'DELETE', '/v3/{p}/snapshots/' + s, as_='member')
    seen = rec.wait_status('snapshot', s, ('<404>',), as_='member')
    rec.note('s1 after delete: %s' % ends(seen))
    rec.x('delete snapshot again (404)', 'DELETE', '/v3/{p}/snapshots/' + s, as_='member')
    s2 = rec.snapshot('s2', v, as_='member')
    rec.x('delete volume with cascade=true', 'DELETE', '/v3/{p}/volumes/%s?cascade=true' % v, as_='member')
    seen = rec.wait_status('volume', v, ('<404>',), as_='member')
    rec.note('sv after cascade delete: %s; snapshot s2 %s' % (
        ends(seen), rec.get('/v3/{p}/snapshots/' + s2, as_='member').status))


def area_limits(rec):
    rec.x('limits (member)', 'GET', '/v3/{p}/limits', as_='member')
    rec.x('limits (admin)', 'GET', '/v3/{p}/limits')
    rec.x('limits at %s' % LATEST, 'GET', '/v3/{p}/limits', as_='member', headers=mv(LATEST))


def area_quotas(rec):
    q = rec.ids['quota']
    rec.x('defaults (member)', 'GET', '/v3/{p}/os-quota-sets/%s/defaults' % q, as_='quota')
    rec.x('show own (member)', 'GET', '/v3/{p}/os-quota-sets/' + q, as_='quota')
    rec.x('show own usage=true', 'GET', '/v3/{p}/os-quota-sets/%s?usage=true' % q, as_='quota')
    rec.x('show other project (member: 403)', 'GET', '/v3/{p}/os-quota-sets/' + rec.ids['other'], as_='quota')
    rec.x('show (admin)', 'GET', '/v3/{p}/os-quota-sets/' + q)
    rec.x('update (member: 403)', 'PUT', '/v3/{p}/os-quota-sets/' + q, as_='quota',
          body={'quota_set': {'volumes': 1}})
    rec.x('update volumes=1, gigabytes=3 (admin)', 'PUT', '/v3/{p}/os-quota-sets/' + q,
          body={'quota_set': {'volumes': 1, 'gigabytes': 3, 'snapshots': 1}})
    rec.x('update unknown key (400)', 'PUT', '/v3/{p}/os-quota-sets/' + q, body={'quota_set': {'colour': 1}})
    rec.x('update bad value (400)', 'PUT', '/v3/{p}/os-quota-sets/' + q, body={'quota_set': {'volumes': -2}})
    rec.x('update unknown project? (admin)', 'PUT', '/v3/{p}/os-quota-sets/no-such-project',
          body={'quota_set': {'volumes': 5}})
    v = rec.volume('q1', as_='quota', record_as='create 1 (within quota)')
    rec.x('create 2nd: 413 volumes', 'POST', '/v3/{p}/volumes', as_='quota', body={'volume': {'size': 1}})
    rec.x('raise volumes to 5', 'PUT', '/v3/{p}/os-quota-sets/' + q, body={'quota_set': {'volumes': 5}})
    rec.x('create size 3: 413 gigabytes', 'POST', '/v3/{p}/volumes', as_='quota', body={'volume': {'size': 3}})
    rec.x('usage after', 'GET', '/v3/{p}/os-quota-sets/%s?usage=true' % q, as_='quota')
    rec.x('lower volumes below usage (admin)', 'PUT', '/v3/{p}/os-quota-sets/' + q,
          body={'quota_set': {'volumes': 0}})
    rec.x('extend beyond gigabytes (413)', 'POST', '/v3/{p}/volumes/%s/action' % v, as_='quota',
          body={'os-extend': {'new_size': 4}})
    rec.snapshot('qs1', v, as_='quota')
    rec.x('2nd snapshot: 413 snapshots', 'POST', '/v3/{p}/snapshots', as_='quota',
          body={'snapshot': {'volume_id': v}})
    rec.x('per-type quotas appear after a type is made', 'GET', '/v3/{p}/os-quota-sets/%s/defaults' % q)
    rec.x('class defaults', 'GET', '/v3/{p}/os-quota-class-sets/default')
    rec.x('reset (DELETE)', 'DELETE', '/v3/{p}/os-quota-sets/' + q)
    rec.x('show after reset', 'GET', '/v3/{p}/os-quota-sets/' + q)


def area_azs(rec):
    rec.x('availability zones (member)', 'GET', '/v3/{p}/os-availability-zone', as_='member')
    rec.x('availability zones (admin)', 'GET', '/v3/{p}/os-availability-zone')


def area_services(rec):
    rec.x('os-services (admin)', 'GET', '/v3/{p}/os-services')
    rec.x('os-services (member: 403)', 'GET', '/v3/{p}/os-services', as_='member')
    rec.x('os-services binary filter', 'GET', '/v3/{p}/os-services?binary=cinder-volume')
    rec.x('os-services at %s' % LATEST, 'GET', '/v3/{p}/os-services', headers=mv(LATEST))
    rec.x('disable', 'PUT', '/v3/{p}/os-services/disable', body={'host': 'cinder-ref@fake', 'binary': 'cinder-volume'})
    rec.x('disable-log-reason', 'PUT', '/v3/{p}/os-services/disable-log-reason',
          body={'host': 'cinder-ref@fake', 'binary': 'cinder-volume', 'disabled_reason': 'maintenance'})
    rec.x('enable', 'PUT', '/v3/{p}/os-services/enable', body={'host': 'cinder-ref@fake', 'binary': 'cinder-volume'})
    rec.x('scheduler pools (admin)', 'GET', '/v3/{p}/scheduler-stats/get_pools?detail=true')
    rec.x('backend capabilities', 'GET', '/v3/{p}/capabilities/cinder-ref@fake')


def area_messages(rec):
    t = rec.vtype('nowhere', extra_specs={'volume_backend_name': 'no-such-backend'})
    v = rec.volume('doomed', as_='member', record_as='create on an unschedulable type', volume_type=t)
    rec.x('show errored volume', 'GET', '/v3/{p}/volumes/' + v, as_='member')
    rec.x('messages at 3.3 (member)', 'GET', '/v3/{p}/messages', as_='member', headers=mv('3.3'))
    msgs = rec.get('/v3/{p}/messages', as_='member', headers=mv('3.3')).json.get('messages', [])
    for i, m in enumerate(msgs):
        rec.scrub.name(m['id'], '<message:%d>' % i)
    rec.x('messages at 3.0 (404)', 'GET', '/v3/{p}/messages', as_='member')
    if msgs:
        rec.x('show message', 'GET', '/v3/{p}/messages/' + msgs[0]['id'], as_='member', headers=mv('3.3'))
        rec.x('messages filter resource_uuid at 3.5', 'GET', '/v3/{p}/messages?resource_uuid=' + v,
              as_='member', headers=mv('3.5'))
        rec.x('delete message', 'DELETE', '/v3/{p}/messages/' + msgs[0]['id'], as_='member', headers=mv('3.3'))
    rec.x('show unknown message', 'GET', '/v3/{p}/messages/' + MISSING, as_='member', headers=mv('3.3'))
    rec.x('delete errored volume', 'DELETE', '/v3/{p}/volumes/' + v, as_='member')
    rec.wait_status('volume', v, ('<404>',), as_='member')
    rec.x('extend beyond capacity? (fake is infinite) -- bad new_size', 'POST', '/v3/{p}/volumes/%s/action' % MISSING,
          as_='member', body={'os-extend': {'new_size': 2}})


def area_attachments(rec):
    v = rec.volume('att', as_='member')
    inst = '00000000-0000-4000-8000-00000000a001'
    rec.x('attachments at 3.27: create without connector (reserved)', 'POST', '/v3/{p}/attachments',
          as_='member', headers=mv('3.27'), body={'attachment': {'volume_uuid': v, 'instance_uuid': inst}})
    att = rec.get('/v3/{p}/attachments', as_='member', headers=mv('3.27')).json['attachments'][0]['id']
    rec.scrub.name(att, '<attachment:1>')
    rec.x('volume after reserve', 'GET', '/v3/{p}/volumes/' + v, as_='member')
    rec.x('list attachments', 'GET', '/v3/{p}/attachments', as_='member', headers=mv('3.27'))
    rec.x('list attachments detail', 'GET', '/v3/{p}/attachments/detail', as_='member', headers=mv('3.27'))
    rec.x('show attachment', 'GET', '/v3/{p}/attachments/' + att, as_='member', headers=mv('3.27'))
    connector = {'initiator': 'iqn.1993-08.org.debian:01:cirec', 'ip': '127.0.0.1', 'platform': 'x86_64',
                 'host': 'cirec-host', 'os_type': 'linux', 'multipath': False, 'mountpoint': '/dev/vdb'}
    rec.x('update with connector', 'PUT', '/v3/{p}/attachments/' + att, as_='member', headers=mv('3.27'),
          body={'attachment': {'connector': connector}})
    rec.x('complete at 3.44', 'POST', '/v3/{p}/attachments/%s/action' % att, as_='member', headers=mv('3.44'),
          body={'os-complete': None})
    rec.x('volume after complete', 'GET', '/v3/{p}/volumes/' + v, as_='member')
    rec.x('volume after complete at %s' % LATEST, 'GET', '/v3/{p}/volumes/' + v, as_='member', headers=mv(LATEST))
    rec.x('delete attached volume (400)', 'DELETE', '/v3/{p}/volumes/' + v, as_='member')
    rec.x('second attachment, not multiattach (400)', 'POST', '/v3/{p}/attachments', as_='member',
          headers=mv('3.27'), body={'attachment': {'volume_uuid': v,
                                                   'instance_uuid': '00000000-0000-4000-8000-00000000a002'}})
    rec.x('create for unknown volume (404)', 'POST', '/v3/{p}/attachments', as_='member', headers=mv('3.27'),
          body={'attachment': {'volume_uuid': MISSING, 'instance_uuid': inst}})
    rec.x('delete attachment with an instance: asks nova, none here (500)', 'DELETE',
          '/v3/{p}/attachments/' + att, as_='member', headers=mv('3.27'),
          note="Debian's 21.3.1-1~deb12u1 carries the OSSA-2023-003 fix: a user's delete of an "
               "attachment with an instance asks nova whether the server still uses the volume; "
               "there is no compute endpoint here, so EndpointNotFound -> 500")
    rec.x('volume still in-use', 'GET', '/v3/{p}/volumes/' + v, as_='member')
    w = rec.volume('att2', as_='member')
    r = rec.x('create without instance_uuid', 'POST', '/v3/{p}/attachments', as_='member', headers=mv('3.27'),
              body={'attachment': {'volume_uuid': w}})
    if r.status == 200:
        att2 = r.json['attachment']['id']
        rec.scrub.name(att2, '<attachment:2>')
        rec.x('volume after reserve without instance', 'GET', '/v3/{p}/volumes/' + w, as_='member')
        rec.x('delete attachment without instance', 'DELETE', '/v3/{p}/attachments/' + att2, as_='member',
              headers=mv('3.27'))
        time.sleep(1)
        rec.x('volume after that delete', 'GET', '/v3/{p}/volumes/' + w, as_='member')
        rec.x('show deleted attachment', 'GET', '/v3/{p}/attachments/' + att2, as_='member', headers=mv('3.27'))


def area_actions(rec):
    v = rec.volume('act', as_='member')
    act = '/v3/{p}/volumes/%s/action' % v
    rec.x('os-reserve', 'POST', act, as_='member', body={'os-reserve': None})
    rec.x('status after reserve', 'GET', '/v3/{p}/volumes/' + v, as_='member')
    rec.x('os-reserve again (400)', 'POST', act, as_='member', body={'os-reserve': None})
    rec.x('os-unreserve', 'POST', act, as_='member', body={'os-unreserve': None})
    rec.x('os-extend to 2', 'POST', act, as_='member', body={'os-extend': {'new_size': 2}})
    seen = rec.wait_status('volume', v, ('available', 'error', 'error_extending'), as_='member')
    if seen[-1] != 'available':
        raise RuntimeError('extend ended in %s' % seen)
    rec.note('act after extend: %s' % ends(seen))
    rec.x('show after extend', 'GET', '/v3/{p}/volumes/' + v, as_='member')
    rec.x('os-extend smaller (400)', 'POST', act, as_='member', body={'os-extend': {'new_size': 1}})
    rec.x('os-extend new_size "x" (400)', 'POST', act, as_='member', body={'os-extend': {'new_size': 'x'}})
    rec.x('os-set_bootable true', 'POST', act, as_='member', body={'os-set_bootable': {'bootable': True}})
    rec.x('show bootable', 'GET', '/v3/{p}/volumes/' + v, as_='member')
    rec.x('os-set_bootable "maybe" (400)', 'POST', act, as_='member', body={'os-set_bootable': {'bootable': 'maybe'}})
    rec.x('os-reset_status (member: 403)', 'POST', act, as_='member', body={'os-reset_status': {'status': 'error'}})
    rec.x('os-reset_status error (admin)', 'POST', '/v3/{p}/volumes/%s/action' % v,
          body={'os-reset_status': {'status': 'error'}})
    rec.x('show after reset', 'GET', '/v3/{p}/volumes/' + v, as_='member')
    rec.x('os-reset_status bad status (400)', 'POST', '/v3/{p}/volumes/%s/action' % v,
          body={'os-reset_status': {'status': 'banana'}})
    rec.x('os-extend on error volume (400)', 'POST', act, as_='member', body={'os-extend': {'new_size': 3}})
    rec.x('os-reset_status available (admin)', 'POST', '/v3/{p}/volumes/%s/action' % v,
          body={'os-reset_status': {'status': 'available'}})
    rec.x('os-update_readonly_flag', 'POST', act, as_='member', body={'os-update_readonly_flag': {'readonly': True}})
    rec.x('os-set_image_metadata', 'POST', act, as_='member',
          body={'os-set_image_metadata': {'metadata': {'image_name': 'x'}}})
    rec.x('os-show_image_metadata', 'POST', act, as_='member', body={'os-show_image_metadata': None})
    rec.x('os-retype to a new type', 'POST', act, as_='member',
          body={'os-retype': {'new_type': rec.vtype('retyped'), 'migration_policy': 'never'}})
    seen = rec.wait_status('volume', v, ('available', 'error'), as_='member')
    rec.x('show after retype', 'GET', '/v3/{p}/volumes/' + v, as_='member', note='status after polling: ' + ends(seen))
    rec.x('os-force_delete (member: 403)', 'POST', act, as_='member', body={'os-force_delete': None})
    rec.x('os-attach (legacy)', 'POST', act, as_='member',
          body={'os-attach': {'instance_uuid': '00000000-0000-4000-8000-00000000a003', 'mountpoint': '/dev/vdc'}})
    rec.x('show after os-attach', 'GET', '/v3/{p}/volumes/' + v, as_='member')
    rec.x('os-detach', 'POST', act, as_='member', body={'os-detach': {}})
    rec.x('unknown action (400)', 'POST', act, as_='member', body={'os-colour': None})
    rec.x('two actions in one body', 'POST', act, as_='member',
          body={'os-reserve': None, 'os-unreserve': None})
    rec.x('action on unknown volume (404)', 'POST', '/v3/{p}/volumes/%s/action' % MISSING, as_='member',
          body={'os-reserve': None})
    rec.x('os-force_delete (admin)', 'POST', '/v3/{p}/volumes/%s/action' % v,
          body={'os-force_delete': None})
    rec.wait_status('volume', v, ('<404>',), as_='member')


AREAS = [
    ('versions', area_versions), ('errors', area_errors), ('volumes', area_volumes),
    ('volume-types', area_types), ('qos-specs', area_qos), ('snapshots', area_snapshots),
    ('limits', area_limits), ('quota-sets', area_quotas), ('availability-zones', area_azs),
    ('services', area_services), ('messages', area_messages), ('attachments', area_attachments),
    ('volume-actions', area_actions),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ks-url', required=True, help='Keystone v3 URL, e.g. http://127.0.0.1:35430/v3')
    ap.add_argument('--password', default='secret', help='Keystone admin password')
    ap.add_argument('--ci-dir', default='/tmp/ci-rec')
    ap.add_argument('--ci-port', type=int, default=18776)
    ap.add_argument('--only', help='comma-separated areas (default: all)')
    ap.add_argument('--keep-running', action='store_true', help='leave cinder-ref running at the end')
    args = ap.parse_args()
    only = set(args.only.split(',')) if args.only else None
    rec = Recorder(args)
    rec.setup_personas()
    rec.start_cinder()
    rec.name_defaults()
    failed = []
    try:
        for name, fn in AREAS:
            if only and name not in only:
                continue
            rec.area = name
            rec.log('== ' + name)
            try:
                fn(rec)
            except Exception as e:  # one broken area must not lose the others
                failed.append(name)
                rec.log('!! %s failed: %r' % (name, e))
                rec.areas.pop(name, None)
            rec.cleanup()
            for t in rec.get('/v3/{p}/types?is_public=None').json['volume_types']:
                if t['name'] != '__DEFAULT__':
                    rec.x('del', 'DELETE', '/v3/{p}/types/' + t['id'], record=False)
    finally:
        if not args.keep_running:
            rec.stop_cinder()
    rec.write()
    if failed:
        sys.exit('areas that failed (not written): ' + ', '.join(failed))


if __name__ == '__main__':
    main()
