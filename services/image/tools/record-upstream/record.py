#!/usr/bin/python3
"""Record what upstream Glance (Debian 12 python3-glance, Zed) answers, as JSON fixtures.

Starts tools/glance-ref against a running upstream Keystone, drives it through a scripted
scenario and writes one file per API area to services/image/fixtures/upstream/ (versions,
schemas, images-crud, images-list, images-patch, images-data, import, stores, members, tags,
errors, tasks, metadefs, quotas). Each file is an array of exchanges:

    {name, note?, request: {method, path, headers, body},
     response: {status, headers, body}}

Request headers are those sent minus transport noise (User-Agent, Accept-Encoding,
Connection); the token is written as "<persona>". Response headers are all of them but Date
and Connection, names lower-cased, x-openstack-request-id as "<present>". Ids, timestamps and
URLs are replaced by placeholders everywhere (<image:label>, <project:owner>, <task:label>,
<timestamp>, <glance>, <keystone>, ...), the same value always by the same placeholder;
content-length stays upstream's real value. Checksums and hashes of deterministic files are
kept as computed. NOTES.md (written by hand) summarises what surprised us.

    KS_DIR=/tmp/ks-glrec KS_PORT=35410 KS_PROCESSES=1 /work/shared/tools/keystone-ref/start.sh
    /usr/bin/python3 services/image/tools/record-upstream/record.py \\
        --ks-url http://127.0.0.1:35410/v3 --password secret [--only images-crud,errors]

It starts glance-ref itself (GL_DIR /tmp/gl-rec, port 19292; a file server for web-download
on 19293) from scratch, twice: with the default quotas for every area, then with
use_keystone_limits = True for quotas. Re-runnable: Keystone personas are reused (names start
with glrec-), Glance starts from an empty database each time. Needs qemu-utils (qemu-img).
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reclib  # noqa: E402

reclib.reexec_under_debian_python()

OUT = os.path.join(reclib.REPO, 'services', 'image', 'fixtures', 'upstream')
PASSWORD = 'glrec-Secret-42'
# persona -> (user, project, roles); admin is Keystone's bootstrap admin on project admin
PERSONAS = {
    'member': ('glrec-owner-member', 'glrec-owner', ['member']),
    'reader': ('glrec-owner-reader', 'glrec-owner', ['reader']),
    'other': ('glrec-other-member', 'glrec-other', ['member']),
    'guest': ('glrec-guest-member', 'glrec-guest', ['member']),
    'quota': ('glrec-quota-member', 'glrec-quota', ['member']),
}
DROP_REQUEST_HEADERS = {'user-agent', 'accept-encoding', 'connection'}
DROP_RESPONSE_HEADERS = {'date', 'connection'}
NOTHING = object()
# ids the scenario writes itself (unknown ids, ids given at create) stay as they are
FIXED_ID_PREFIXES = ('00000000-0000-4000-8000-', '11111111-2222-4333-8444-')
FILE_PORT = 19293
ELIDE_OVER = 16384   # longer strings (a 2 MB property, a 20 KB header) are shortened in the fixtures
IMAGE_SIZE_CAP = 10 * 1024 * 1024
# What the main run changes from a stock glance-api.conf, and why:
EXTRA_CONF = """
[DEFAULT]
# small enough to record the 413 of an upload over the cap (default 1 TiB)
image_size_cap = %d

[import_filtering_opts]
# web-download from the recorder's loopback file server (Debian's security fix refuses
# loopback hosts unless allowed, and only ports 80 and 443 are allowed by default;
# both options take a bracketed list: without brackets every URI is refused)
allowed_hosts = [127.0.0.1]
allowed_ports = [80,443,%d]
""" % (IMAGE_SIZE_CAP, FILE_PORT)



def sort_tags(body):
    """Image tags sorted: upstream keeps them in a Python set, so their order changes from one
    glance-api process to the next (hash randomisation) and means nothing."""
    def image(v):
        if isinstance(v, dict) and isinstance(v.get('tags'), list) and all(isinstance(t, str) for t in v['tags']):
            v = dict(v, tags=sorted(v['tags']))
        return v
    if isinstance(body, dict) and isinstance(body.get('images'), list):
        return dict(body, images=[image(i) for i in body['images']])
    return image(body)


def body_view(data, content_type):
    """How a body is written into a fixture: JSON as JSON, short text as text, bytes summarised."""
    if data is None or data == b'':
        return None
    if not isinstance(data, (bytes, str)):
        return '<streamed without Content-Length (chunked)>'
    if isinstance(data, str):
        data = data.encode()
    if 'json' in (content_type or ''):
        try:
            return json.loads(data)
        except ValueError:
            pass
    try:
        text = data.decode('utf-8')
        if all(c.isprintable() or c in '\r\n\t' for c in text):
            return text
    except UnicodeDecodeError:
        pass
    return {'<bytes>': len(data), 'md5': hashlib.md5(data).hexdigest()}


class Recorder:
    def __init__(self, args):
        self.args = args
        self.scrub = reclib.Scrubber(FIXED_ID_PREFIXES, elide_over=ELIDE_OVER)
        self.areas = {}
        self.area = None
        self.tokens = {}
        self.ids = {}         # persona -> project id, 'user:<persona>' -> user id
        self.glance = None
        self.base = None

    # ---------------------------------------------------------------- plumbing
    def log(self, *a):
        print(*a, flush=True)

    def x(self, name, method, path, as_='admin', body=NOTHING, data=None, headers=None,
          note=None, record=True):
        """One exchange, recorded into the current area unless record=False."""
        token = self.tokens.get(as_) if as_ else None
        json_body = None if body is NOTHING else body
        r = reclib.call(self.base, method, path, token=token, json_body=json_body, data=data,
                        headers=headers)
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
        path = req.path_url
        resp_headers = {}
        for k, v in r.headers.items():
            lk = k.lower()
            if lk in DROP_RESPONSE_HEADERS:
                continue
            if lk == 'x-openstack-request-id':
                sent = req.headers.get('X-Openstack-Request-Id')
                v = '<echoed>' if sent and v == sent else '<present>'
            resp_headers[lk] = v
        ex = {'name': name}
        if note:
            ex['note'] = note
        ex['request'] = {'method': req.method, 'path': path, 'headers': req_headers,
                         'body': body_view(req.body, req.headers.get('Content-Type'))}
        ex['response'] = {'status': r.status, 'headers': resp_headers,
                          'body': sort_tags(body_view(r.content, r.headers.get('Content-Type')))}
        self.areas.setdefault(self.area, []).append(ex)
        self.log('  %-60s %s' % (name, r.status))

    def note(self, text):
        """A free-standing observation in the current area (e.g. states seen while polling)."""
        self.areas.setdefault(self.area, []).append({'name': 'note', 'note': text})

    def write(self):
        os.makedirs(OUT, exist_ok=True)
        for area, exchanges in self.areas.items():
            path = os.path.join(OUT, area + '.json')
            with open(path, 'w') as f:
                f.write(dump(self.scrub.value(exchanges)))
            self.log('wrote %s (%d exchanges)' % (os.path.relpath(path, reclib.REPO), len(exchanges)))

    # ---------------------------------------------------------------- setup
    def setup_personas(self):
        ks = reclib.Keystone(self.args.ks_url, self.args.password)
        self.ks = ks
        self.tokens['admin'] = ks.admin_token
        self.ids['admin'] = self.scrub.name(ks.project_id('admin'), '<project:admin>')
        self.scrub.name(ks.user_id('admin'), '<user:admin>')
        for persona, (user, project, roles) in PERSONAS.items():
            pid = ks.ensure_project(project)
            uid = ks.ensure_user(user, PASSWORD, pid, roles)
            self.ids[persona] = pid
            self.ids['user:' + persona] = uid
            self.scrub.name(pid, '<project:%s>' % project.replace('glrec-', ''))
            self.scrub.name(uid, '<user:%s>' % user.replace('glrec-', ''))
        # Keystone revokes a user's tokens on a password change with one-second resolution:
        # a token issued in the same second as the change would be refused
        time.sleep(1.1)
        for persona, (user, project, roles) in PERSONAS.items():
            self.tokens[persona] = ks.token(user, PASSWORD, project)
        self.tokens['none'] = None

    def start_glance(self, keystone_limits=False):
        self.glance = reclib.GlanceRef(self.args.gl_dir, self.args.gl_port, self.args.ks_url,
                                       self.args.password, extra_conf=EXTRA_CONF,
                                       keystone_limits=keystone_limits, log=self.log)
        self.base = self.glance.start()
        self.scrub.name(self.base, '<glance>')
        self.scrub.name(self.args.ks_url.rstrip('/').rsplit('/v3', 1)[0], '<keystone>')
        self.scrub.name(self.glance.gl_dir, '<gl-dir>')
        self.scrub.name('http://127.0.0.1:%d' % FILE_PORT, '<fileserver>')
        for k, v in self.glance.env.items():
            self.scrub.name(v, '<%s>' % k.lower().replace('_', '-'))

    # ---------------------------------------------------------------- helpers
    def create(self, label, body, as_='admin', record_as=None):
        """Create an image, name its id <image:label>; record the exchange when record_as is given."""
        r = self.x(record_as or 'create ' + label, 'POST', '/v2/images', as_=as_, body=body,
                   record=record_as is not None)
        if r.status != 201:
            raise RuntimeError('create %s: %s' % (label, r))
        self.scrub.name(r.json['id'], '<image:%s>' % label)
        return r.json['id']

    def upload(self, image_id, data, as_='admin'):
        r = self.x('upload', 'PUT', '/v2/images/%s/file' % image_id, as_=as_, data=data,
                   headers={'Content-Type': 'application/octet-stream'}, record=False)
        if r.status != 204:
            raise RuntimeError('upload: %s' % r)

    def image(self, image_id, as_='admin'):
        return self.x('get', 'GET', '/v2/images/' + image_id, as_=as_, record=False).json

    def wait_import(self, image_id, timeout=90):
        """Poll until the image's newest import task has ended; (image statuses seen, task status)."""
        seen = []
        end = time.time() + timeout
        while time.time() < end:
            img = self.image(image_id)
            if not seen or seen[-1] != img['status']:
                seen.append(img['status'])
            tasks = self.x('tasks', 'GET', '/v2/images/%s/tasks' % image_id, record=False).json['tasks']
            if (tasks and tasks[0]['status'] in ('success', 'failure')
                    and 'os_glance_import_task' not in img):
                # the task ends a moment before the image's import lock is dropped
                img = self.image(image_id)
                if seen[-1] != img['status']:
                    seen.append(img['status'])
                return seen, tasks[0]['status']
            time.sleep(0.1)
        raise RuntimeError('import of %s did not end: %s' % (image_id, seen))

    def cleanup_images(self):
        """Delete every image (admin), so that the next area's lists show only its own."""
        r = self.x('list', 'GET', '/v2/images?visibility=all&limit=1000', record=False)
        for img in r.json['images']:
            if img['protected']:
                self.x('unprotect', 'PATCH', '/v2/images/' + img['id'], data=json.dumps(
                    [{'op': 'replace', 'path': '/protected', 'value': False}]),
                    headers={'Content-Type': PATCH_TYPE}, record=False)
            self.x('delete', 'DELETE', '/v2/images/' + img['id'], record=False)
        # hidden images are not in the default list
        r = self.x('list', 'GET', '/v2/images?visibility=all&os_hidden=true&limit=1000', record=False)
        for img in r.json['images']:
            if img['protected']:
                self.x('unprotect', 'PATCH', '/v2/images/' + img['id'], data=json.dumps(
                    [{'op': 'replace', 'path': '/protected', 'value': False}]),
                    headers={'Content-Type': PATCH_TYPE}, record=False)
            self.x('delete', 'DELETE', '/v2/images/' + img['id'], record=False)

    def patch(self, name, image_id, ops, as_='admin', content_type=None, note=None):
        return self.x(name, 'PATCH', '/v2/images/' + image_id, as_=as_,
                      data=ops if isinstance(ops, (str, bytes)) else json.dumps(ops),
                      headers={'Content-Type': content_type or PATCH_TYPE}, note=note)


PATCH_TYPE = 'application/openstack-images-v2.1-json-patch'


def dump(value):
    """JSON with one exchange per block, stable key order as recorded."""
    return json.dumps(value, indent=1, ensure_ascii=False) + '\n'


# ==================================================================== test data
class Files:
    """Image files: deterministic where the format allows (vhd/vhdx embed random ids and times)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.text20 = b'0123456789abcdefghij'
        self.raw = b''.join(b'glance recorder raw block %06d\n' % i for i in range(32768))[:1048576]
        self.qcow2 = self._qemu('qcow2', 'qcow2')
        self.vmdk = self._fix_vmdk(self._qemu('vmdk', 'vmdk'))
        self.vhd = self._qemu('vpc', 'vhd')
        self.vhdx = self._qemu('vhdx', 'vhdx')
        self.big = b'\0' * (IMAGE_SIZE_CAP + 1)

    def _qemu(self, fmt, ext):
        path = os.path.join(self.tmp, 'x.' + ext)
        subprocess.run(['qemu-img', 'create', '-q', '-f', fmt, path, '1G'], check=True)
        with open(path, 'rb') as f:
            return f.read()

    @staticmethod
    def _fix_vmdk(data):
        """The descriptor's CID is random (and printed without leading zeros): a fixed one keeps
        the checksum stable. The descriptor is NUL-padded, so the padding absorbs the length change."""
        m = re.search(rb'\nCID=[0-9a-f]+\n', data)
        new = b'\nCID=0badcafe\n'
        delta = len(new) - len(m.group(0))
        end = data.index(b'\0', m.end())
        assert data[end:end + delta] == b'\0' * delta
        return data[:m.start()] + new + data[m.end():end] + data[end + delta:]


# ==================================================================== areas
def area_versions(rec):
    rec.area = 'versions'
    for path in ('/', '/versions', '/v2', '/v2/', '/v1', '/v1/images', '/v3'):
        rec.x('GET %s (no token)' % path, 'GET', path, as_=None)
    rec.x('GET / with a token', 'GET', '/', as_='member')
    rec.x('GET /v2 with a token', 'GET', '/v2', as_='member')
    rec.x('GET /v2/ with a token', 'GET', '/v2/', as_='member')
    rec.x('GET /v2/images/ (trailing slash)', 'GET', '/v2/images/', as_='member')
    rec.x('GET /healthcheck (oslo.middleware, in the paste pipeline)', 'GET', '/healthcheck', as_=None)
    rec.x('GET / with Accept application/json', 'GET', '/', as_=None, headers={'Accept': 'application/json'})
    rec.x('GET /versions with a token', 'GET', '/versions', as_='member')
    rec.x('GET /images with Accept application/vnd.openstack.images-v2.1+json (not matched)',
          'GET', '/images', as_='member', headers={'Accept': 'application/vnd.openstack.images-v2.1+json'})
    rec.x('GET /images with Accept application/vnd.openstack.images-v2.1 (media-type versioning)',
          'GET', '/images', as_='member', headers={'Accept': 'application/vnd.openstack.images-v2.1'})
    for v in ('v2.0', 'v2.1', 'v2.8', 'v2.13', 'v2.14', 'v2.15', 'v2.16', 'v2.17', 'v2.99'):
        rec.x('GET /%s/images (URL versioning with a minor version)' % v, 'GET', '/%s/images' % v, as_='member')
    rec.x('GET /images without version and plain Accept', 'GET', '/images', as_='member')
    rec.x('HEAD /', 'HEAD', '/', as_=None)
    rec.x('POST /versions', 'POST', '/versions', as_=None)


def area_schemas(rec):
    rec.area = 'schemas'
    for name in ('image', 'images', 'member', 'members', 'task', 'tasks',
                 'metadefs/namespace', 'metadefs/namespaces', 'metadefs/resource_type',
                 'metadefs/resource_types', 'metadefs/property', 'metadefs/properties',
                 'metadefs/object', 'metadefs/objects', 'metadefs/tag', 'metadefs/tags'):
        rec.x('GET /v2/schemas/' + name, 'GET', '/v2/schemas/' + name, as_='member')
    rec.x('GET /v2/schemas/image as reader', 'GET', '/v2/schemas/image', as_='reader')
    rec.x('GET /v2/schemas/bogus', 'GET', '/v2/schemas/bogus', as_='member')
    rec.x('GET /v2/schemas', 'GET', '/v2/schemas', as_='member')
    rec.x('GET /v2/schemas/image without token', 'GET', '/v2/schemas/image', as_=None)


def area_images_crud(rec):
    rec.area = 'images-crud'
    m = 'member'
    rec.create('minimal', {}, as_=m, record_as='create with {} (minimal)')
    rec.create('name-only', {'name': 'rec-name-only'}, as_=m, record_as='create with name only')
    full = {
        'id': '11111111-2222-4333-8444-555555555555', 'name': 'rec-full', 'visibility': 'private',
        'disk_format': 'qcow2', 'container_format': 'bare', 'min_disk': 1, 'min_ram': 512,
        'protected': False, 'tags': ['alpha', 'beta'], 'os_hidden': False,
        'os_distro': 'debian', 'os_version': '12', 'architecture': 'x86_64',
        'description': 'full body', 'hw_disk_bus': 'virtio', 'color': 'blue',
    }
    rec.scrub.name(full['id'], full['id'])
    rec.create('full', full, as_=m, record_as='create with every writable core field, custom and extra properties')
    rec.x('create with the same id again (409)', 'POST', '/v2/images', as_=m,
          body={'id': full['id'], 'name': 'dup'})
    rec.create('extra', {'name': 'rec-extra', 'k1': 'v1', 'k2': '', 'Mixed_Case': 'X',
                         'kernel_id': '11111111-2222-4333-8444-666666666666'},
               as_=m, record_as='create with extra properties (string values)')
    bad_bodies = [
        ('extra property with a number value', {'name': 'x', 'k': 1}),
        ('extra property with a null value', {'name': 'x', 'k': None}),
        ('extra property with a list value', {'name': 'x', 'k': ['a']}),
        ('kernel_id not a uuid (schema-image.json pattern)', {'name': 'x', 'kernel_id': 'abc'}),
        ('id of bad format', {'id': 'not-a-uuid'}),
        ('id as uppercase uuid', {'id': 'AAAAAAAA-2222-4333-8444-555555555555'}),
        ('status', {'status': 'active'}),
        ('checksum', {'checksum': 'd41d8cd98f00b204e9800998ecf8427e'}),
        ('size', {'size': 10}),
        ('virtual_size', {'virtual_size': 10}),
        ('locations', {'locations': []}),
        ('self', {'self': '/v2/images/x'}),
        ('file', {'file': '/v2/images/x/file'}),
        ('schema', {'schema': '/v2/schemas/image'}),
        ('direct_url', {'direct_url': 'file:///x'}),
        ('os_hash_algo', {'os_hash_algo': 'sha512'}),
        ('os_hash_value', {'os_hash_value': 'abc'}),
        ('created_at', {'created_at': '2020-01-01T00:00:00Z'}),
        ('updated_at', {'updated_at': '2020-01-01T00:00:00Z'}),
        ('deleted', {'deleted': False}),
        ('deleted_at', {'deleted_at': None}),
        ('stores', {'stores': 'file1'}),
        ('reserved os_glance_ property', {'os_glance_foo': 'x'}),
        ('reserved os_glance_import_task', {'os_glance_import_task': 'x'}),
        ('owner as non-admin: another project', {'owner': None}),
        ('wrong disk_format', {'disk_format': 'qcow3'}),
        ('wrong container_format', {'container_format': 'box'}),
        ('disk_format of another case', {'disk_format': 'QCOW2'}),
        ('empty disk_format', {'disk_format': ''}),
        ('bad visibility', {'visibility': 'secret'}),
        ('name too long (256)', {'name': 'n' * 256}),
        ('min_disk negative', {'min_disk': -1}),
        ('min_ram as string', {'min_ram': '512'}),
        ('protected as string', {'protected': 'true'}),
        ('os_hidden as string', {'os_hidden': 'yes'}),
        ('tags not a list', {'tags': 'a'}),
        ('tag too long (256)', {'tags': ['t' * 256]}),
        ('property key too long (256)', {'k' * 256: 'v'}),
        ('property value too long (65536)', {'k': 'v' * 65536}),
        ('unknown cinder_encryption_key_deletion_policy (schema-image.json enum)',
         {'cinder_encryption_key_deletion_policy': 'sometimes'}),
    ]
    for label, body in bad_bodies:
        if label.startswith('owner as non-admin'):
            body = {'owner': rec.ids['other']}
        rec.x('create with %s' % label, 'POST', '/v2/images', as_=m, body=body)
    r = rec.x('create with owner = own project as non-admin', 'POST', '/v2/images', as_=m,
              body={'name': 'rec-own-owner', 'owner': rec.ids['member']})
    if r.status == 201:
        rec.scrub.name(r.json['id'], '<image:own-owner>')
    rec.create('admin-owner', {'name': 'rec-admin-for-other', 'owner': rec.ids['other']}, as_='admin',
               record_as='create as admin with owner = another project')
    rec.create('dup-tags', {'name': 'rec-dup-tags', 'tags': ['b', 'a', 'b', 'a']}, as_=m,
               record_as='create with duplicate tags')
    rec.create('visibility-absent', {'name': 'rec-vis'}, as_=m)
    rec.x('create public as member (403)', 'POST', '/v2/images', as_=m,
          body={'name': 'x', 'visibility': 'public'})
    r = rec.x('create community as member', 'POST', '/v2/images', as_=m,
              body={'name': 'rec-community', 'visibility': 'community'})
    if r.status == 201:
        rec.scrub.name(r.json['id'], '<image:community>')
    r = rec.x('create shared as member', 'POST', '/v2/images', as_=m,
              body={'name': 'rec-shared', 'visibility': 'shared'})
    if r.status == 201:
        rec.scrub.name(r.json['id'], '<image:shared>')
    rec.x('create as reader (403)', 'POST', '/v2/images', as_='reader', body={'name': 'x'})
    rec.create('public', {'name': 'rec-public', 'visibility': 'public'}, as_='admin',
               record_as='create public as admin')
    rec.x('create with Content-Type text/plain', 'POST', '/v2/images', as_=m,
          data=b'{"name": "x"}', headers={'Content-Type': 'text/plain'})
    rec.x('create without Content-Type', 'POST', '/v2/images', as_=m, data=b'{"name": "x"}')
    rec.x('create with malformed JSON', 'POST', '/v2/images', as_=m, data=b'{"name": ',
          headers={'Content-Type': 'application/json'})
    rec.x('create with a JSON array body', 'POST', '/v2/images', as_=m, body=[{'name': 'x'}])
    rec.x('create with an empty body', 'POST', '/v2/images', as_=m, data=b'',
          headers={'Content-Type': 'application/json'})
    r = rec.x('create with JSON null', 'POST', '/v2/images', as_=m, data=b'null',
              headers={'Content-Type': 'application/json'})

    img = full['id']
    rec.x('show (owner member)', 'GET', '/v2/images/' + img, as_=m)
    rec.x('show (owner reader)', 'GET', '/v2/images/' + img, as_='reader')
    rec.x('show (admin)', 'GET', '/v2/images/' + img, as_='admin')
    rec.x('show private image as another project (404)', 'GET', '/v2/images/' + img, as_='other')
    rec.x('show unknown id (404)', 'GET', '/v2/images/00000000-0000-4000-8000-000000000000', as_=m)
    rec.x('show id of bad format (404)', 'GET', '/v2/images/not-a-uuid', as_=m)
    rec.x('show with trailing slash', 'GET', '/v2/images/%s/' % img, as_=m)
    prot = rec.create('protected', {'name': 'rec-protected', 'protected': True}, as_=m,
                      record_as='create protected')
    rec.x('delete protected (403)', 'DELETE', '/v2/images/' + prot, as_=m)
    rec.x('delete as reader (403)', 'DELETE', '/v2/images/' + img, as_='reader')
    rec.x('delete as another project (404)', 'DELETE', '/v2/images/' + img, as_='other')
    rec.x('delete', 'DELETE', '/v2/images/' + img, as_=m)
    rec.x('delete again (404)', 'DELETE', '/v2/images/' + img, as_=m)
    rec.x('show deleted (404)', 'GET', '/v2/images/' + img, as_=m)
    rec.x('create with the id of a deleted image (409)', 'POST', '/v2/images', as_=m,
          body={'id': img, 'name': 'reuse'})
    rec.x('delete unknown (404)', 'DELETE', '/v2/images/00000000-0000-4000-8000-000000000000', as_=m)
    rec.cleanup_images()


def area_images_list(rec):
    rec.area = 'images-list'
    m = 'member'
    made = {}
    specs = [
        ('a', m, {'name': 'list-a', 'disk_format': 'qcow2', 'container_format': 'bare',
                  'tags': ['t1'], 'color': 'red', 'min_disk': 1}, rec_files_qcow2),
        ('b', m, {'name': 'list-b', 'disk_format': 'raw', 'container_format': 'ovf',
                  'visibility': 'shared', 'tags': ['t1', 't2'], 'protected': True}, rec_files_raw),
        ('c', m, {'name': 'list-c', 'visibility': 'community', 'color': 'green'}, None),
        ('d', 'admin', {'name': 'list-d', 'visibility': 'public', 'disk_format': 'raw',
                        'container_format': 'bare', 'owner': None}, rec_files_text),
        ('e', m, {'name': 'list-e', 'os_hidden': True}, None),
        ('f', 'other', {'name': 'list-f'}, None),
        ('g', 'other', {'name': 'list-g', 'visibility': 'shared'}, None),
        ('h', 'other', {'name': 'list-a', 'visibility': 'community'}, None),
    ]
    stamps = {}
    for label, who, body, data in specs:
        if body.get('owner', 1) is None:
            body = dict(body)
            body['owner'] = rec.ids['member']
        made[label] = rec.create('list-' + label, body, as_=who)
        if data:
            rec.upload(made[label], data(rec), as_='admin')
        stamps[label] = rec.image(made[label])['created_at']
        time.sleep(1.1)   # created_at has one-second resolution on the wire
    # members: g shared with the owner project (accepted), b shared with other (pending)
    rec.x('add member', 'POST', '/v2/images/%s/members' % made['g'], as_='other',
          body={'member': rec.ids['member']}, record=False)
    rec.x('accept', 'PUT', '/v2/images/%s/members/%s' % (made['g'], rec.ids['member']), as_=m,
          body={'status': 'accepted'}, record=False)
    rec.x('add member', 'POST', '/v2/images/%s/members' % made['b'], as_=m,
          body={'member': rec.ids['other']}, record=False)
    rec.note('images: ' + '; '.join('%s = <image:list-%s> (%s)' % (s[2]['name'], s[0], s[1]) for s in specs)
             + '. list-a qcow2 uploaded (active), list-b raw uploaded, list-d text uploaded; '
             'list-g is shared by other with owner (accepted); list-b shared by owner with other (pending); '
             'list-e os_hidden; list-h is other\'s community image also named list-a.')
    q = [
        '', '?limit=2', '?name=list-a', '?status=active', '?status=queued', '?status=bogus',
        '?visibility=all', '?visibility=public', '?visibility=private', '?visibility=shared',
        '?visibility=community', '?visibility=bogus',
        '?member_status=accepted', '?member_status=pending', '?member_status=all',
        '?member_status=rejected', '?visibility=shared&member_status=all', '?member_status=bogus',
        '?owner=' + rec.ids['member'], '?owner=' + rec.ids['other'],
        '?tag=t1', '?tag=t1&tag=t2', '?tag=nope',
        '?size_min=1000', '?size_max=100', '?size_min=abc',
        '?created_at=gt:' + stamps['b'], '?created_at=gte:' + stamps['b'],
        '?created_at=lt:' + stamps['b'], '?created_at=lte:' + stamps['b'],
        '?created_at=eq:' + stamps['b'], '?created_at=neq:' + stamps['b'],
        '?updated_at=lte:' + stamps['a'], '?created_at=' + stamps['b'], '?created_at=gt:yesterday',
        '?created_at=bogus:' + stamps['b'], '?changes-since=' + stamps['b'],
        '?os_hidden=true', '?os_hidden=false', '?os_hidden=bogus', '?protected=true',
        '?protected=false', '?protected=bogus',
        '?disk_format=qcow2', '?disk_format=raw', '?container_format=ovf',
        '?disk_format=in:raw,qcow2', '?name=in:list-a,list-c', '?name=in:"list-a","list-c"',
        '?id=in:%s,%s' % (made['a'], made['c']), '?id=' + made['a'], '?id=in:bogus',
        '?color=red', '?color=in:red,green', '?os_distro=nothing', '?min_disk=1', '?min_ram=0',
        '?checksum=' + hashlib.md5(rec_files_qcow2(rec)).hexdigest(),
        '?os_hash_value=' + hashlib.sha512(rec_files_qcow2(rec)).hexdigest(),
        '?sort_key=name&sort_dir=asc', '?sort_key=name&sort_dir=desc', '?sort_key=name',
        '?sort_key=name&sort_key=created_at&sort_dir=asc&sort_dir=desc',
        '?sort_key=size&sort_dir=asc', '?sort_key=bogus', '?sort_dir=sideways',
        '?sort=name:asc,created_at', '?sort=name', '?sort=name:desc,id:asc', '?sort=name:up',
        '?sort=bogus', '?sort=name&sort_key=name', '?sort_key=name&sort_dir=asc&sort_dir=desc',
        '?limit=0', '?limit=-1', '?limit=abc', '?limit=2000', '?limit=1&sort_key=name&sort_dir=asc',
        '?marker=' + made['c'], '?marker=' + made['c'] + '&limit=1',
        '?marker=00000000-0000-4000-8000-000000000000', '?marker=bogus',
        '?marker=' + made['f'],
        '?limit=1&name=list-a',
    ]
    for who in ('member', 'admin'):
        for query in q:
            rec.x('list %s as %s' % (query or '(no query)', who), 'GET', '/v2/images' + query, as_=who)
    # follow `next` links to the end
    path = '/v2/images?limit=2&sort_key=name&sort_dir=asc'
    for i in range(6):
        r = rec.x('paging with next links, page %d' % (i + 1), 'GET', path, as_=m)
        nxt = (r.json or {}).get('next')
        if not nxt:
            break
        path = nxt
    for who in ('reader', 'other', 'guest'):
        for query in ('', '?visibility=all', '?visibility=shared', '?visibility=community',
                      '?member_status=all', '?member_status=pending&visibility=shared'):
            rec.x('list %s as %s' % (query or '(no query)', who), 'GET', '/v2/images' + query, as_=who)
    rec.cleanup_images()


def rec_files_qcow2(rec):
    return rec.files.qcow2


def rec_files_raw(rec):
    return rec.files.raw


def rec_files_text(rec):
    return rec.files.text20


def area_images_patch(rec):
    rec.area = 'images-patch'
    m = 'member'
    img = rec.create('patch', {'name': 'rec-patch', 'color': 'blue', 'disk_format': 'raw',
                               'container_format': 'bare', 'tags': ['x']}, as_=m,
                     record_as='create the image to patch')
    cases = [
        ('replace name', [{'op': 'replace', 'path': '/name', 'value': 'rec-patched'}]),
        ('replace name with null', [{'op': 'replace', 'path': '/name', 'value': None}]),
        ('add name (add on an existing core property)', [{'op': 'add', 'path': '/name', 'value': 'rec-added'}]),
        ('remove name (core property)', [{'op': 'remove', 'path': '/name'}]),
        ('add extra property', [{'op': 'add', 'path': '/flavor', 'value': 'vanilla'}]),
        ('add extra property that exists', [{'op': 'add', 'path': '/flavor', 'value': 'chocolate'}]),
        ('replace extra property', [{'op': 'replace', 'path': '/color', 'value': 'red'}]),
        ('replace missing extra property', [{'op': 'replace', 'path': '/nothere', 'value': 'x'}]),
        ('remove extra property', [{'op': 'remove', 'path': '/flavor'}]),
        ('remove missing extra property', [{'op': 'remove', 'path': '/flavor'}]),
        ('extra property with a number value', [{'op': 'add', 'path': '/num', 'value': 5}]),
        ('replace min_ram', [{'op': 'replace', 'path': '/min_ram', 'value': 1024}]),
        ('replace min_ram negative', [{'op': 'replace', 'path': '/min_ram', 'value': -1}]),
        ('remove min_ram (core)', [{'op': 'remove', 'path': '/min_ram'}]),
        ('replace disk_format (queued image)', [{'op': 'replace', 'path': '/disk_format', 'value': 'qcow2'}]),
        ('replace disk_format bad value', [{'op': 'replace', 'path': '/disk_format', 'value': 'qcow3'}]),
        ('replace visibility community', [{'op': 'replace', 'path': '/visibility', 'value': 'community'}]),
        ('replace visibility private', [{'op': 'replace', 'path': '/visibility', 'value': 'private'}]),
        ('replace visibility public as member (403)', [{'op': 'replace', 'path': '/visibility', 'value': 'public'}]),
        ('replace visibility bad value', [{'op': 'replace', 'path': '/visibility', 'value': 'bogus'}]),
        ('replace tags', [{'op': 'replace', 'path': '/tags', 'value': ['t2', 't1', 't2']}]),
        ('add tags (replace of the whole list)', [{'op': 'add', 'path': '/tags', 'value': ['t3']}]),
        ('add to tags with /tags/-', [{'op': 'add', 'path': '/tags/-', 'value': 't4'}]),
        ('remove tags', [{'op': 'remove', 'path': '/tags'}]),
        ('replace os_hidden', [{'op': 'replace', 'path': '/os_hidden', 'value': True}]),
        ('replace os_hidden back', [{'op': 'replace', 'path': '/os_hidden', 'value': False}]),
        ('several operations in one patch', [
            {'op': 'replace', 'path': '/name', 'value': 'rec-multi'},
            {'op': 'add', 'path': '/a', 'value': '1'},
            {'op': 'add', 'path': '/b', 'value': '2'},
            {'op': 'remove', 'path': '/a'}]),
        ('several operations, the second fails', [
            {'op': 'replace', 'path': '/name', 'value': 'rec-never'},
            {'op': 'remove', 'path': '/nothere'}]),
        ('pointer escape ~1 and ~0', [{'op': 'add', 'path': '/a~1b~0c', 'value': 'x'}]),
        ('bad JSON pointer (no leading slash)', [{'op': 'replace', 'path': 'name', 'value': 'x'}]),
        ('bad JSON pointer (nested)', [{'op': 'replace', 'path': '/name/first', 'value': 'x'}]),
        ('bad JSON pointer (bad escape ~2)', [{'op': 'add', 'path': '/a~2', 'value': 'x'}]),
        ('empty pointer', [{'op': 'replace', 'path': '', 'value': 'x'}]),
        ('op test', [{'op': 'test', 'path': '/name', 'value': 'rec-multi'}]),
        ('op copy', [{'op': 'copy', 'from': '/name', 'path': '/alias'}]),
        ('op move', [{'op': 'move', 'from': '/color', 'path': '/colour'}]),
        ('op bogus', [{'op': 'bogus', 'path': '/name', 'value': 'x'}]),
        ('missing op', [{'path': '/name', 'value': 'x'}]),
        ('missing value', [{'op': 'replace', 'path': '/name'}]),
        ('missing path', [{'op': 'replace', 'value': 'x'}]),
        ('two op keys (op and add)', [{'op': 'replace', 'add': '/x', 'path': '/name', 'value': 'x'}]),
        ('patch is an object not a list', {'op': 'replace', 'path': '/name', 'value': 'x'}),
        ('empty patch', []),
        ('patch element not an object', ['replace']),
        ('reserved os_glance_ property', [{'op': 'add', 'path': '/os_glance_foo', 'value': 'x'}]),
        ('name too long', [{'op': 'replace', 'path': '/name', 'value': 'n' * 256}]),
    ]
    for label, ops in cases:
        rec.patch('patch: ' + label, img, ops, as_=m)
    for prop, value in (('id', '11111111-2222-4333-8444-777777777777'), ('status', 'active'),
                        ('checksum', 'x'), ('size', 5), ('virtual_size', 5), ('created_at', 'x'),
                        ('updated_at', 'x'), ('self', 'x'), ('file', 'x'), ('schema', 'x'),
                        ('direct_url', 'x'), ('locations', []), ('os_hash_algo', 'x'),
                        ('os_hash_value', 'x'), ('owner', None), ('deleted', True),
                        ('stores', 'file1'), ('os_glance_import_task', 'x')):
        if prop == 'owner':
            value = rec.ids['other']
        rec.patch('patch: replace read-only %s' % prop, img, [{'op': 'replace', 'path': '/' + prop, 'value': value}], as_=m)
    for prop in ('id', 'status', 'owner', 'visibility', 'protected', 'disk_format', 'container_format',
                 'min_disk', 'tags', 'os_hidden', 'checksum', 'locations'):
        rec.patch('patch: remove %s' % prop, img, [{'op': 'remove', 'path': '/' + prop}], as_=m)
    rec.patch('patch: add read-only status', img, [{'op': 'add', 'path': '/status', 'value': 'active'}], as_=m)
    rec.patch('patch: replace owner as admin', img, [{'op': 'replace', 'path': '/owner', 'value': rec.ids['member']}], as_='admin')
    rec.patch('patch with Content-Type application/json (415)', img,
              [{'op': 'replace', 'path': '/name', 'value': 'x'}], as_=m, content_type='application/json')
    rec.patch('patch with Content-Type application/json-patch+json', img,
              [{'op': 'replace', 'path': '/name', 'value': 'x'}], as_=m,
              content_type='application/json-patch+json')
    rec.patch('patch with the v2.0 media type and a v2.0 path', img,
              [{'replace': '/name', 'value': 'rec-v20'}], as_=m,
              content_type='application/openstack-images-v2.0-json-patch')
    rec.patch('patch with the v2.0 media type and a v2.1 op', img,
              [{'op': 'replace', 'path': '/name', 'value': 'rec-v20b'}], as_=m,
              content_type='application/openstack-images-v2.0-json-patch')
    rec.patch('patch with malformed JSON', img, '[{"op": ', as_=m)
    rec.patch('patch as reader (403)', img, [{'op': 'replace', 'path': '/name', 'value': 'x'}], as_='reader')
    rec.patch('patch as another project (404)', img, [{'op': 'replace', 'path': '/name', 'value': 'x'}], as_='other')
    rec.patch('patch unknown image (404)', '00000000-0000-4000-8000-000000000000',
              [{'op': 'replace', 'path': '/name', 'value': 'x'}], as_=m)
    rec.x('PUT on an image', 'PUT', '/v2/images/' + img, as_=m, body={'name': 'x'})
    # protected
    rec.patch('patch: replace protected true', img, [{'op': 'replace', 'path': '/protected', 'value': True}], as_=m)
    rec.patch('patch a protected image: name', img, [{'op': 'replace', 'path': '/name', 'value': 'rec-prot'}], as_=m)
    rec.x('delete protected (403)', 'DELETE', '/v2/images/' + img, as_=m)
    rec.patch('patch: replace protected "false" (string)', img, [{'op': 'replace', 'path': '/protected', 'value': 'false'}], as_=m)
    rec.patch('patch: replace protected false', img, [{'op': 'replace', 'path': '/protected', 'value': False}], as_=m)
    # deactivated
    act = rec.create('patch-active', {'name': 'rec-patch-active', 'disk_format': 'raw', 'container_format': 'bare'}, as_=m)
    rec.upload(act, rec.files.text20, as_=m)
    rec.patch('patch active image: replace disk_format', act, [{'op': 'replace', 'path': '/disk_format', 'value': 'qcow2'}], as_=m)
    rec.patch('patch active image: replace container_format', act, [{'op': 'replace', 'path': '/container_format', 'value': 'ovf'}], as_=m)
    rec.x('deactivate (admin)', 'POST', '/v2/images/%s/actions/deactivate' % act, as_='admin')
    rec.patch('patch a deactivated image as owner', act, [{'op': 'replace', 'path': '/name', 'value': 'rec-deact'}], as_=m)
    rec.patch('patch a deactivated image as admin', act, [{'op': 'add', 'path': '/k', 'value': 'v'}], as_='admin')
    rec.patch('patch a deactivated image: visibility', act, [{'op': 'replace', 'path': '/visibility', 'value': 'community'}], as_=m)
    rec.x('delete the deactivated image', 'DELETE', '/v2/images/' + act, as_=m)
    rec.x('delete', 'DELETE', '/v2/images/' + img, as_=m)
    rec.x('delete twice (404)', 'DELETE', '/v2/images/' + img, as_=m)
    rec.patch('patch a deleted image (404)', img, [{'op': 'replace', 'path': '/name', 'value': 'x'}], as_=m)
    rec.cleanup_images()


def area_images_data(rec):
    rec.area = 'images-data'
    m = 'member'
    f = rec.files
    img = rec.create('data', {'name': 'rec-data', 'disk_format': 'raw', 'container_format': 'bare'}, as_=m)
    rec.x('download of a queued image', 'GET', '/v2/images/%s/file' % img, as_=m)
    rec.x('HEAD of a queued image file', 'HEAD', '/v2/images/%s/file' % img, as_=m)
    rec.x('upload with Content-Type text/plain', 'PUT', '/v2/images/%s/file' % img, as_=m,
          data=f.text20, headers={'Content-Type': 'text/plain'})
    rec.x('upload without Content-Type', 'PUT', '/v2/images/%s/file' % img, as_=m, data=f.text20)
    rec.x('upload as reader (403)', 'PUT', '/v2/images/%s/file' % img, as_='reader', data=f.text20,
          headers={'Content-Type': 'application/octet-stream'})
    rec.x('upload as another project (404)', 'PUT', '/v2/images/%s/file' % img, as_='other', data=f.text20,
          headers={'Content-Type': 'application/octet-stream'})
    rec.x('upload to an unknown image (404)', 'PUT', '/v2/images/00000000-0000-4000-8000-000000000000/file',
          as_=m, data=f.text20, headers={'Content-Type': 'application/octet-stream'})
    rec.x('upload (20 bytes)', 'PUT', '/v2/images/%s/file' % img, as_=m, data=f.text20,
          headers={'Content-Type': 'application/octet-stream'})
    rec.x('show after upload', 'GET', '/v2/images/' + img, as_=m)
    rec.x('upload to an active image (409)', 'PUT', '/v2/images/%s/file' % img, as_=m, data=f.text20,
          headers={'Content-Type': 'application/octet-stream'})
    rec.x('download', 'GET', '/v2/images/%s/file' % img, as_=m)
    rec.x('download as reader', 'GET', '/v2/images/%s/file' % img, as_='reader')
    rec.x('download as another project (404)', 'GET', '/v2/images/%s/file' % img, as_='other')
    rec.x('HEAD file', 'HEAD', '/v2/images/%s/file' % img, as_=m)
    for rng in ('bytes=0-9', 'bytes=5-', 'bytes=-5', 'bytes=19-19', 'bytes=10-100', 'bytes=20-',
                'bytes=30-40', 'bytes=9-0', 'bytes=a-b', 'items=0-1', 'bytes=0-1,3-4', 'bytes=0-19'):
        rec.x('download with Range: ' + rng, 'GET', '/v2/images/%s/file' % img, as_=m,
              headers={'Range': rng})
    rec.x('download with Content-Range: bytes 0-9/*', 'GET', '/v2/images/%s/file' % img, as_=m,
          headers={'Content-Range': 'bytes 0-9/*'})
    rec.x('download with Content-Range: bytes 5-30/20', 'GET', '/v2/images/%s/file' % img, as_=m,
          headers={'Content-Range': 'bytes 5-30/20'})
    rec.x('deactivate as owner member', 'POST', '/v2/images/%s/actions/deactivate' % img, as_=m)
    rec.x('deactivate (admin)', 'POST', '/v2/images/%s/actions/deactivate' % img, as_='admin')
    rec.x('show deactivated', 'GET', '/v2/images/' + img, as_=m)
    rec.x('deactivate again', 'POST', '/v2/images/%s/actions/deactivate' % img, as_='admin')
    rec.x('download deactivated as owner member', 'GET', '/v2/images/%s/file' % img, as_=m)
    rec.x('download deactivated as admin', 'GET', '/v2/images/%s/file' % img, as_='admin')
    rec.x('upload to a deactivated image', 'PUT', '/v2/images/%s/file' % img, as_=m, data=f.text20,
          headers={'Content-Type': 'application/octet-stream'})
    rec.x('reactivate as owner member', 'POST', '/v2/images/%s/actions/reactivate' % img, as_=m)
    rec.x('reactivate (admin)', 'POST', '/v2/images/%s/actions/reactivate' % img, as_='admin')
    rec.x('reactivate an active image', 'POST', '/v2/images/%s/actions/reactivate' % img, as_='admin')
    rec.x('GET on the deactivate action', 'GET', '/v2/images/%s/actions/deactivate' % img, as_='admin')
    rec.x('unknown action (404)', 'POST', '/v2/images/%s/actions/explode' % img, as_='admin')
    q = rec.create('data-queued', {'name': 'rec-data-queued', 'disk_format': 'raw', 'container_format': 'bare'}, as_=m)
    rec.x('deactivate a queued image', 'POST', '/v2/images/%s/actions/deactivate' % q, as_='admin')
    rec.x('reactivate a queued image', 'POST', '/v2/images/%s/actions/reactivate' % q, as_='admin')
    rec.x('deactivate unknown image (404)', 'POST', '/v2/images/00000000-0000-4000-8000-000000000000/actions/deactivate', as_='admin')
    nf = rec.create('no-format', {'name': 'rec-no-format'}, as_=m)
    rec.x('upload without disk_format/container_format set', 'PUT', '/v2/images/%s/file' % nf, as_=m,
          data=f.text20, headers={'Content-Type': 'application/octet-stream'})
    rec.x('show after refused upload', 'GET', '/v2/images/' + nf, as_=m)
    cap = rec.create('cap', {'name': 'rec-cap', 'disk_format': 'raw', 'container_format': 'bare'}, as_=m)
    rec.x('upload over image_size_cap (%d bytes)' % len(f.big), 'PUT', '/v2/images/%s/file' % cap, as_=m,
          data=f.big, headers={'Content-Type': 'application/octet-stream'})
    rec.x('show after upload over the cap', 'GET', '/v2/images/' + cap, as_=m)

    def chunks():
        for i in range(4):
            yield f.text20
    ch = rec.create('chunked', {'name': 'rec-chunked', 'disk_format': 'raw', 'container_format': 'bare'}, as_=m)
    rec.x('upload chunked (no Content-Length)', 'PUT', '/v2/images/%s/file' % ch, as_=m, data=chunks(),
          headers={'Content-Type': 'application/octet-stream'})
    rec.x('show after chunked upload', 'GET', '/v2/images/' + ch, as_=m)
    # formats: size, virtual_size, checksum, os_hash_*
    for label, fmt, data in (('raw', 'raw', f.raw), ('qcow2', 'qcow2', f.qcow2), ('vmdk', 'vmdk', f.vmdk),
                             ('vhd', 'vhd', f.vhd), ('vhdx', 'vhdx', f.vhdx), ('iso', 'iso', f.text20),
                             ('qcow2-as-raw', 'raw', f.qcow2), ('raw-as-qcow2', 'qcow2', f.raw)):
        if label in ('vhd', 'vhdx'):   # not byte-stable: qemu-img writes random ids and times
            rec.scrub.name(hashlib.md5(data).hexdigest(), '<md5 of x.%s>' % label)
            rec.scrub.name(hashlib.sha512(data).hexdigest(), '<sha512 of x.%s>' % label)
        i = rec.create('fmt-' + label, {'name': 'rec-' + label, 'disk_format': fmt, 'container_format': 'bare'}, as_=m)
        rec.x('upload %s (%d bytes, disk_format %s)' % (label, len(data), fmt), 'PUT',
              '/v2/images/%s/file' % i, as_=m, data=data, headers={'Content-Type': 'application/octet-stream'})
        rec.x('show %s after upload' % label, 'GET', '/v2/images/' + i, as_=m)
    rec.note('local hashes: ' + json.dumps({
        'text20': {'md5': hashlib.md5(f.text20).hexdigest(), 'sha512': hashlib.sha512(f.text20).hexdigest()},
        'raw': {'md5': hashlib.md5(f.raw).hexdigest(), 'len': len(f.raw)},
        'qcow2': {'md5': hashlib.md5(f.qcow2).hexdigest(), 'len': len(f.qcow2)},
        'vmdk': {'md5': hashlib.md5(f.vmdk).hexdigest(), 'len': len(f.vmdk)},
        'vhd': {'len': len(f.vhd)}, 'vhdx': {'len': len(f.vhdx)}}))
    rec.cleanup_images()


class FileServer:
    """A loopback HTTP server for web-download, in a thread of ours: /x.qcow2 answers at once,
    /slow/x.qcow2 waits SLOW_SECONDS after the headers so that the import is seen 'importing'."""

    SLOW_SECONDS = 3

    def __init__(self, files, port):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                slow = self.path.startswith('/slow/')
                data = files.get(self.path[len('/slow'):] if slow else self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header('Content-Type', 'application/octet-stream')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                if slow:
                    self.wfile.write(data[:1024])
                    self.wfile.flush()
                    time.sleep(FileServer.SLOW_SECONDS)
                    self.wfile.write(data[1024:])
                else:
                    self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def area_import(rec):
    rec.area = 'import'
    m = 'member'
    f = rec.files
    rec.x('GET /v2/info/import', 'GET', '/v2/info/import', as_=m)
    rec.x('GET /v2/info/import without token', 'GET', '/v2/info/import', as_=None)
    rec.x('GET /v2/info/stores', 'GET', '/v2/info/stores', as_=m)
    rec.x('GET /v2/info/stores/detail as member (403)', 'GET', '/v2/info/stores/detail', as_=m)
    rec.x('GET /v2/info/stores/detail as admin', 'GET', '/v2/info/stores/detail', as_='admin')
    rec.x('GET /v2/info/usage (use_keystone_limits off)', 'GET', '/v2/info/usage', as_=m)
    rec.x('GET /v2/info/bogus', 'GET', '/v2/info/bogus', as_=m)
    # glance-direct
    img = rec.create('direct', {'name': 'rec-direct', 'disk_format': 'raw', 'container_format': 'bare'}, as_=m,
                     record_as='create for glance-direct')
    rec.x('import glance-direct before staging (409)', 'POST', '/v2/images/%s/import' % img, as_=m,
          body={'method': {'name': 'glance-direct'}})
    rec.x('stage with Content-Type text/plain', 'PUT', '/v2/images/%s/stage' % img, as_=m,
          data=f.text20, headers={'Content-Type': 'text/plain'})
    rec.x('stage as reader (403)', 'PUT', '/v2/images/%s/stage' % img, as_='reader',
          data=f.text20, headers={'Content-Type': 'application/octet-stream'})
    rec.x('stage', 'PUT', '/v2/images/%s/stage' % img, as_=m, data=f.text20,
          headers={'Content-Type': 'application/octet-stream'})
    rec.x('show after stage (uploading)', 'GET', '/v2/images/' + img, as_=m)
    rec.x('stage again', 'PUT', '/v2/images/%s/stage' % img, as_=m, data=f.text20,
          headers={'Content-Type': 'application/octet-stream'})
    rec.x('upload (PUT file) to an uploading image', 'PUT', '/v2/images/%s/file' % img, as_=m, data=f.text20,
          headers={'Content-Type': 'application/octet-stream'})
    rec.x('download a staged image', 'GET', '/v2/images/%s/file' % img, as_=m)
    rec.x('import with no body', 'POST', '/v2/images/%s/import' % img, as_=m, data=b'',
          headers={'Content-Type': 'application/json'})
    rec.x('import with {}', 'POST', '/v2/images/%s/import' % img, as_=m, body={})
    rec.x('import with an unknown method', 'POST', '/v2/images/%s/import' % img, as_=m,
          body={'method': {'name': 'carrier-pigeon'}})
    rec.x('import with unknown store', 'POST', '/v2/images/%s/import' % img, as_=m,
          body={'method': {'name': 'glance-direct'}, 'stores': ['bogus']})
    rec.x('import with X-Image-Meta-Store of an unknown store', 'POST', '/v2/images/%s/import' % img, as_=m,
          body={'method': {'name': 'glance-direct'}}, headers={'X-Image-Meta-Store': 'bogus'})
    rec.x('import as reader (403)', 'POST', '/v2/images/%s/import' % img, as_='reader',
          body={'method': {'name': 'glance-direct'}})
    r = rec.x('import glance-direct', 'POST', '/v2/images/%s/import' % img, as_=m,
              body={'method': {'name': 'glance-direct'}})
    seen, task_status = rec.wait_import(img)
    rec.note('glance-direct: the image ends %s, task %s (in between it is importing, too fast to record here; '
             'see the web-download exchanges for an image seen while importing)' % (seen[-1], task_status))
    tasks = rec.x('GET /v2/images/{id}/tasks after glance-direct', 'GET', '/v2/images/%s/tasks' % img, as_=m)
    if tasks.json and tasks.json.get('tasks'):
        rec.scrub.name(tasks.json['tasks'][0]['id'], '<task:glance-direct>')
    rec.x('show after glance-direct import', 'GET', '/v2/images/' + img, as_=m)
    rec.x('download after import', 'GET', '/v2/images/%s/file' % img, as_=m)
    rec.x('import glance-direct again on the active image (409)', 'POST', '/v2/images/%s/import' % img, as_=m,
          body={'method': {'name': 'glance-direct'}})
    rec.x('GET /v2/images/{id}/tasks as reader', 'GET', '/v2/images/%s/tasks' % img, as_='reader')
    rec.x('GET /v2/images/{id}/tasks as another project (404)', 'GET', '/v2/images/%s/tasks' % img, as_='other')
    # stores selection on glance-direct
    for label, body, headers in (
            ('stores ["file1"]', {'method': {'name': 'glance-direct'}, 'stores': ['file1']}, None),
            ('X-Image-Meta-Store: file1', {'method': {'name': 'glance-direct'}}, {'X-Image-Meta-Store': 'file1'}),
            ('all_stores true', {'method': {'name': 'glance-direct'}, 'all_stores': True}, None),
            ('all_stores true and all_stores_must_succeed false',
             {'method': {'name': 'glance-direct'}, 'all_stores': True, 'all_stores_must_succeed': False}, None)):
        i = rec.create('direct-' + label.split()[0].strip('"[]:'), {'name': 'rec-direct-stores', 'disk_format': 'raw',
                                                                     'container_format': 'bare'}, as_=m)
        rec.x('stage', 'PUT', '/v2/images/%s/stage' % i, as_=m, data=f.text20,
              headers={'Content-Type': 'application/octet-stream'}, record=False)
        rec.x('import glance-direct with ' + label, 'POST', '/v2/images/%s/import' % i, as_=m, body=body,
              headers=headers)
        rec.wait_import(i)
        rec.x('show after import with ' + label, 'GET', '/v2/images/' + i, as_=m)
    # staging something that is not a known image or is not queued
    rec.x('stage an unknown image (404)', 'PUT', '/v2/images/00000000-0000-4000-8000-000000000000/stage', as_=m,
          data=f.text20, headers={'Content-Type': 'application/octet-stream'})
    rec.x('stage an active image (409)', 'PUT', '/v2/images/%s/stage' % img, as_=m, data=f.text20,
          headers={'Content-Type': 'application/octet-stream'})
    nf = rec.create('stage-no-format', {'name': 'rec-stage-no-format'}, as_=m)
    rec.x('stage an image without formats', 'PUT', '/v2/images/%s/stage' % nf, as_=m, data=f.text20,
          headers={'Content-Type': 'application/octet-stream'})
    rec.x('import glance-direct on an image without formats', 'POST', '/v2/images/%s/import' % nf, as_=m,
          body={'method': {'name': 'glance-direct'}})
    rec.x('show the image without formats after import', 'GET', '/v2/images/' + nf, as_=m)
    # web-download
    srv = FileServer({'/x.qcow2': f.qcow2}, FILE_PORT)
    try:
        wd = rec.create('web', {'name': 'rec-web', 'disk_format': 'qcow2', 'container_format': 'bare'}, as_=m)
        rec.x('web-download without uri', 'POST', '/v2/images/%s/import' % wd, as_=m,
              body={'method': {'name': 'web-download'}})
        rec.x('web-download of a disallowed port', 'POST', '/v2/images/%s/import' % wd, as_=m,
              body={'method': {'name': 'web-download', 'uri': 'http://127.0.0.1:22/x.qcow2'}})
        rec.x('web-download of a host not in allowed_hosts', 'POST', '/v2/images/%s/import' % wd, as_=m,
              body={'method': {'name': 'web-download', 'uri': 'http://localhost:%d/x.qcow2' % FILE_PORT}})
        rec.x('web-download of the metadata address', 'POST', '/v2/images/%s/import' % wd, as_=m,
              body={'method': {'name': 'web-download', 'uri': 'http://169.254.169.254/latest'}})
        rec.x('web-download with a file: URI', 'POST', '/v2/images/%s/import' % wd, as_=m,
              body={'method': {'name': 'web-download', 'uri': 'file:///etc/passwd'}})
        rec.x('web-download with a non-URI', 'POST', '/v2/images/%s/import' % wd, as_=m,
              body={'method': {'name': 'web-download', 'uri': 'not a uri'}})
        rec.x('web-download (a source that pauses %d s after the first KiB)' % FileServer.SLOW_SECONDS, 'POST',
              '/v2/images/%s/import' % wd, as_=m,
              body={'method': {'name': 'web-download', 'uri': 'http://127.0.0.1:%d/slow/x.qcow2' % FILE_PORT}})
        if not reclib.wait_for(lambda: rec.image(wd)['status'] == 'importing', timeout=FileServer.SLOW_SECONDS):
            raise RuntimeError('web-download never seen importing')
        rec.x('show during web-download (importing)', 'GET', '/v2/images/' + wd, as_=m)
        rec.x('GET /v2/images/{id}/tasks during web-download', 'GET', '/v2/images/%s/tasks' % wd, as_=m)
        rec.x('web-download again while importing', 'POST', '/v2/images/%s/import' % wd, as_=m,
              body={'method': {'name': 'web-download', 'uri': 'http://127.0.0.1:%d/x.qcow2' % FILE_PORT}})
        rec.x('add a tag while importing', 'PUT', '/v2/images/%s/tags/while-importing' % wd,
              as_=m)
        rec.x('download while importing', 'GET', '/v2/images/%s/file' % wd, as_=m)
        seen, task_status = rec.wait_import(wd)
        rec.note('web-download: the image ends %s, task %s' % (seen[-1], task_status))
        rec.x('show after web-download', 'GET', '/v2/images/' + wd, as_=m)
        t = rec.x('GET /v2/images/{id}/tasks after web-download', 'GET', '/v2/images/%s/tasks' % wd, as_=m)
        if t.json and t.json.get('tasks'):
            rec.scrub.name(t.json['tasks'][0]['id'], '<task:web-download>')
        wd404 = rec.create('web-404', {'name': 'rec-web-404', 'disk_format': 'raw', 'container_format': 'bare'}, as_=m)
        rec.x('web-download of a missing file (404 at the source)', 'POST', '/v2/images/%s/import' % wd404, as_=m,
              body={'method': {'name': 'web-download', 'uri': 'http://127.0.0.1:%d/missing' % FILE_PORT}})
        seen, task_status = rec.wait_import(wd404)
        rec.note('web-download of a missing file: the image ends %s, task %s' % (seen[-1], task_status))
        rec.x('show after failed web-download', 'GET', '/v2/images/' + wd404, as_=m)
        t = rec.x('GET /v2/images/{id}/tasks after failed web-download', 'GET', '/v2/images/%s/tasks' % wd404, as_=m)
        if t.json and t.json.get('tasks'):
            rec.scrub.name(t.json['tasks'][0]['id'], '<task:web-download-failed>')
        rec.x('web-download on an active image', 'POST', '/v2/images/%s/import' % wd, as_=m,
              body={'method': {'name': 'web-download', 'uri': 'http://127.0.0.1:%d/x.qcow2' % FILE_PORT}})
    finally:
        srv.stop()
    # copy-image (admin only by default: copy_image policy)
    rec.x('copy-image as owner member', 'POST', '/v2/images/%s/import' % img, as_=m,
          body={'method': {'name': 'copy-image'}, 'stores': ['file1']})
    rec.x('copy-image to a store that has it', 'POST', '/v2/images/%s/import' % img, as_='admin',
          body={'method': {'name': 'copy-image'}, 'stores': ['file1']})
    rec.x('copy-image with no stores', 'POST', '/v2/images/%s/import' % img, as_='admin',
          body={'method': {'name': 'copy-image'}})
    rec.x('copy-image with an unknown store', 'POST', '/v2/images/%s/import' % img, as_='admin',
          body={'method': {'name': 'copy-image'}, 'stores': ['bogus']})
    rec.x('copy-image with all_stores (already in every store)', 'POST', '/v2/images/%s/import' % img, as_='admin',
          body={'method': {'name': 'copy-image'}, 'all_stores': True})
    rec.wait_import(img)
    rec.x('show after copy-image with all_stores', 'GET', '/v2/images/' + img, as_=m)
    rec.x('copy-image of a queued image', 'POST', '/v2/images/%s/import' % wd404, as_='admin',
          body={'method': {'name': 'copy-image'}, 'stores': ['file1']})
    rec.x('import of an unknown image (404)', 'POST', '/v2/images/00000000-0000-4000-8000-000000000000/import',
          as_=m, body={'method': {'name': 'glance-direct'}})
    rec.x('GET on /import', 'GET', '/v2/images/%s/import' % img, as_=m)
    rec.x('GET on /stage', 'GET', '/v2/images/%s/stage' % img, as_=m)
    rec.cleanup_images()


def area_stores(rec):
    rec.area = 'stores'
    m = 'member'
    rec.x('GET /v2/info/stores', 'GET', '/v2/info/stores', as_=m)
    rec.x('GET /v2/info/stores/detail as admin', 'GET', '/v2/info/stores/detail', as_='admin')
    rec.x('GET /v2/info/stores/detail as reader (403)', 'GET', '/v2/info/stores/detail', as_='reader')
    img = rec.create('store', {'name': 'rec-store', 'disk_format': 'raw', 'container_format': 'bare'}, as_=m)
    rec.x('upload with X-Image-Meta-Store: bogus', 'PUT', '/v2/images/%s/file' % img, as_=m, data=rec.files.text20,
          headers={'Content-Type': 'application/octet-stream', 'X-Image-Meta-Store': 'bogus'})
    rec.x('upload with X-Image-Meta-Store: file1', 'PUT', '/v2/images/%s/file' % img, as_=m, data=rec.files.text20,
          headers={'Content-Type': 'application/octet-stream', 'X-Image-Meta-Store': 'file1'})
    rec.x('show', 'GET', '/v2/images/' + img, as_=m)
    rec.x('DELETE /v2/stores/file1/{id} as member (403)', 'DELETE', '/v2/stores/file1/' + img, as_=m)
    rec.x('DELETE /v2/stores/bogus/{id} as admin', 'DELETE', '/v2/stores/bogus/' + img, as_='admin')
    rec.x('DELETE /v2/stores/file1/{id} as admin (its only location)', 'DELETE', '/v2/stores/file1/' + img, as_='admin')
    rec.x('show after store delete attempt', 'GET', '/v2/images/' + img, as_=m)
    q = rec.create('store-queued', {'name': 'rec-store-queued'}, as_=m)
    rec.x('DELETE /v2/stores/file1/{id} of a queued image', 'DELETE', '/v2/stores/file1/' + q, as_='admin')
    rec.x('GET /v2/stores/file1/{id}', 'GET', '/v2/stores/file1/' + img, as_='admin')
    rec.cleanup_images()


def area_members(rec):
    rec.area = 'members'
    m, g, o = 'member', 'guest', 'other'
    sh = rec.create('shared', {'name': 'rec-shared', 'visibility': 'shared'}, as_=m, record_as='create shared')
    pv = rec.create('private', {'name': 'rec-private', 'visibility': 'private'}, as_=m)
    cm = rec.create('community', {'name': 'rec-community', 'visibility': 'community'}, as_=m)
    pb = rec.create('public', {'name': 'rec-public', 'visibility': 'public', 'owner': rec.ids['member']}, as_='admin')
    guest, other = rec.ids['guest'], rec.ids['other']
    rec.x('list members of a shared image without members', 'GET', '/v2/images/%s/members' % sh, as_=m)
    rec.x('add member (owner)', 'POST', '/v2/images/%s/members' % sh, as_=m, body={'member': guest})
    rec.x('add the same member again (409)', 'POST', '/v2/images/%s/members' % sh, as_=m, body={'member': guest})
    rec.x('add member as reader (403)', 'POST', '/v2/images/%s/members' % sh, as_='reader', body={'member': other})
    rec.x('add member as the member project', 'POST', '/v2/images/%s/members' % sh, as_=g, body={'member': other})
    rec.x('add member as an unrelated project (404)', 'POST', '/v2/images/%s/members' % sh, as_=o, body={'member': other})
    rec.x('add member with body missing "member"', 'POST', '/v2/images/%s/members' % sh, as_=m, body={'id': other})
    rec.x('add member with an extra key', 'POST', '/v2/images/%s/members' % sh, as_=m, body={'member': 'abc', 'status': 'accepted'})
    rec.x('add member with a non-string member', 'POST', '/v2/images/%s/members' % sh, as_=m, body={'member': 5})
    rec.x('add member with an empty member', 'POST', '/v2/images/%s/members' % sh, as_=m, body={'member': ''})
    rec.x('add member with a long member id (256)', 'POST', '/v2/images/%s/members' % sh, as_=m, body={'member': 'p' * 256})
    rec.x('add member that is no Keystone project', 'POST', '/v2/images/%s/members' % sh, as_=m,
          body={'member': 'not-a-keystone-project'})
    rec.x('add the owner itself as member', 'POST', '/v2/images/%s/members' % sh, as_=m, body={'member': rec.ids['member']})
    rec.x('add member to a private image', 'POST', '/v2/images/%s/members' % pv, as_=m, body={'member': guest})
    rec.x('add member to a community image', 'POST', '/v2/images/%s/members' % cm, as_=m, body={'member': guest})
    rec.x('add member to a public image', 'POST', '/v2/images/%s/members' % pb, as_=m, body={'member': guest})
    rec.x('add member to a public image as admin', 'POST', '/v2/images/%s/members' % pb, as_='admin', body={'member': guest})
    rec.x('add member to an unknown image', 'POST', '/v2/images/00000000-0000-4000-8000-000000000000/members', as_=m,
          body={'member': guest})
    rec.x('add member with malformed JSON', 'POST', '/v2/images/%s/members' % sh, as_=m, data=b'{"member":',
          headers={'Content-Type': 'application/json'})
    rec.x('list members (owner)', 'GET', '/v2/images/%s/members' % sh, as_=m)
    rec.x('list members (owner reader)', 'GET', '/v2/images/%s/members' % sh, as_='reader')
    rec.x('list members (member project, pending)', 'GET', '/v2/images/%s/members' % sh, as_=g)
    rec.x('list members (unrelated project)', 'GET', '/v2/images/%s/members' % sh, as_=o)
    rec.x('list members (admin)', 'GET', '/v2/images/%s/members' % sh, as_='admin')
    rec.x('list members of a private image', 'GET', '/v2/images/%s/members' % pv, as_=m)
    rec.x('list members of a public image', 'GET', '/v2/images/%s/members' % pb, as_=m)
    rec.x('show member (owner)', 'GET', '/v2/images/%s/members/%s' % (sh, guest), as_=m)
    rec.x('show member (the member itself, pending)', 'GET', '/v2/images/%s/members/%s' % (sh, guest), as_=g)
    rec.x('show member (unrelated project)', 'GET', '/v2/images/%s/members/%s' % (sh, guest), as_=o)
    rec.x('show unknown member', 'GET', '/v2/images/%s/members/%s' % (sh, other), as_=m)
    rec.x('show image as the pending member', 'GET', '/v2/images/' + sh, as_=g)
    rec.x('download as the pending member (no data yet)', 'GET', '/v2/images/%s/file' % sh, as_=g)
    rec.x('list images as the pending member (default)', 'GET', '/v2/images', as_=g)
    rec.x('list images as the pending member member_status=pending', 'GET',
          '/v2/images?member_status=pending', as_=g)
    rec.x('list images as the pending member visibility=shared&member_status=pending', 'GET',
          '/v2/images?visibility=shared&member_status=pending', as_=g)
    for status in ('accepted', 'rejected', 'pending', 'accepted'):
        rec.x('member sets status %s' % status, 'PUT', '/v2/images/%s/members/%s' % (sh, guest), as_=g,
              body={'status': status})
    rec.x('member sets a bad status', 'PUT', '/v2/images/%s/members/%s' % (sh, guest), as_=g, body={'status': 'maybe'})
    rec.x('member sets status with no body', 'PUT', '/v2/images/%s/members/%s' % (sh, guest), as_=g, body={})
    rec.x('member sets status with an extra key', 'PUT', '/v2/images/%s/members/%s' % (sh, guest), as_=g,
          body={'status': 'accepted', 'member': guest})
    rec.x('owner sets the member status (403)', 'PUT', '/v2/images/%s/members/%s' % (sh, guest), as_=m,
          body={'status': 'rejected'})
    rec.x('admin sets the member status', 'PUT', '/v2/images/%s/members/%s' % (sh, guest), as_='admin',
          body={'status': 'accepted'})
    rec.x('unrelated project sets the status (404)', 'PUT', '/v2/images/%s/members/%s' % (sh, guest), as_=o,
          body={'status': 'accepted'})
    rec.x('member project sets another member\'s status', 'PUT', '/v2/images/%s/members/%s' % (sh, other), as_=g,
          body={'status': 'accepted'})
    rec.x('list images as the accepted member (default)', 'GET', '/v2/images', as_=g)
    rec.x('list members as the accepted member', 'GET', '/v2/images/%s/members' % sh, as_=g)
    rec.x('add member as the accepted member (403)', 'POST', '/v2/images/%s/members' % sh, as_=g, body={'member': other})
    rec.x('delete member as the member itself (403)', 'DELETE', '/v2/images/%s/members/%s' % (sh, guest), as_=g)
    rec.x('patch the image as the accepted member (403)', 'PATCH', '/v2/images/' + sh, as_=g,
          data=json.dumps([{'op': 'replace', 'path': '/name', 'value': 'x'}]), headers={'Content-Type': PATCH_TYPE})
    rec.x('member sets status rejected', 'PUT', '/v2/images/%s/members/%s' % (sh, guest), as_=g, body={'status': 'rejected'})
    rec.x('list images as the rejected member (default)', 'GET', '/v2/images', as_=g)
    rec.x('list images as the rejected member member_status=rejected', 'GET', '/v2/images?member_status=rejected', as_=g)
    rec.x('show image as the rejected member', 'GET', '/v2/images/' + sh, as_=g)
    rec.x('add a second member', 'POST', '/v2/images/%s/members' % sh, as_=m, body={'member': other})
    rec.x('list members (owner), two members', 'GET', '/v2/images/%s/members' % sh, as_=m)
    rec.x('list members as the second member', 'GET', '/v2/images/%s/members' % sh, as_=o)
    rec.x('change visibility shared -> private with members', 'PATCH', '/v2/images/' + sh, as_=m,
          data=json.dumps([{'op': 'replace', 'path': '/visibility', 'value': 'private'}]),
          headers={'Content-Type': PATCH_TYPE})
    rec.x('list members of the now private image', 'GET', '/v2/images/%s/members' % sh, as_=m)
    rec.x('show image (now private) as a member', 'GET', '/v2/images/' + sh, as_=o)
    rec.x('add member to the now private image', 'POST', '/v2/images/%s/members' % sh, as_=m, body={'member': 'third'})
    rec.x('change visibility back to shared', 'PATCH', '/v2/images/' + sh, as_=m,
          data=json.dumps([{'op': 'replace', 'path': '/visibility', 'value': 'shared'}]),
          headers={'Content-Type': PATCH_TYPE})
    rec.x('list members after back to shared', 'GET', '/v2/images/%s/members' % sh, as_=m)
    rec.x('delete member as reader (403)', 'DELETE', '/v2/images/%s/members/%s' % (sh, other), as_='reader')
    rec.x('delete member (owner)', 'DELETE', '/v2/images/%s/members/%s' % (sh, other), as_=m)
    rec.x('delete member again (404)', 'DELETE', '/v2/images/%s/members/%s' % (sh, other), as_=m)
    rec.x('show image as the removed member (404)', 'GET', '/v2/images/' + sh, as_=o)
    rec.x('PATCH on a member URL', 'PATCH', '/v2/images/%s/members/%s' % (sh, guest), as_=m,
          body={'status': 'accepted'})
    rec.x('POST on a member URL', 'POST', '/v2/images/%s/members/%s' % (sh, guest), as_=m, body={})
    # quota of members (image_member_quota, default 128)
    q = rec.create('many-members', {'name': 'rec-many-members', 'visibility': 'shared'}, as_=m)
    last = None
    for i in range(130):
        last = rec.x('add member %d' % i, 'POST', '/v2/images/%s/members' % q, as_=m,
                     body={'member': 'member-%03d' % i}, record=False)
        if last.status != 200:
            rec.record('add member number %d (image_member_quota 128)' % (i + 1), last, m)
            break
    rec.x('schema of member', 'GET', '/v2/schemas/member', as_=m)
    rec.cleanup_images()


def area_tags(rec):
    rec.area = 'tags'
    m = 'member'
    img = rec.create('tags', {'name': 'rec-tags', 'tags': ['one']}, as_=m)
    rec.x('add tag', 'PUT', '/v2/images/%s/tags/two' % img, as_=m)
    rec.x('add the same tag again', 'PUT', '/v2/images/%s/tags/two' % img, as_=m)
    rec.x('add tag with a body', 'PUT', '/v2/images/%s/tags/three' % img, as_=m, body={'x': 1})
    rec.x('add tag with space and unicode (encoded)', 'PUT', '/v2/images/%s/tags/a%%20b%%C3%%A9' % img, as_=m)
    rec.x('add tag with an encoded slash', 'PUT', '/v2/images/%s/tags/a%%2Fb' % img, as_=m)
    rec.x('add tag with a comma', 'PUT', '/v2/images/%s/tags/a,b' % img, as_=m)
    rec.x('add tag of 255 characters', 'PUT', '/v2/images/%s/tags/%s' % (img, 't' * 255), as_=m)
    rec.x('add tag too long (256)', 'PUT', '/v2/images/%s/tags/%s' % (img, 't' * 256), as_=m)
    rec.x('show with tags', 'GET', '/v2/images/' + img, as_=m)
    rec.x('list ?tag=a b\u00e9', 'GET', '/v2/images?tag=a%20b%C3%A9', as_=m)
    rec.x('add tag as reader (403)', 'PUT', '/v2/images/%s/tags/r' % img, as_='reader')
    rec.x('add tag as another project (404)', 'PUT', '/v2/images/%s/tags/o' % img, as_='other')
    rec.x('add tag to unknown image (404)', 'PUT', '/v2/images/00000000-0000-4000-8000-000000000000/tags/x', as_=m)
    rec.x('delete tag', 'DELETE', '/v2/images/%s/tags/two' % img, as_=m)
    rec.x('delete missing tag (404)', 'DELETE', '/v2/images/%s/tags/two' % img, as_=m)
    rec.x('delete tag as reader (403)', 'DELETE', '/v2/images/%s/tags/one' % img, as_='reader')
    rec.x('GET a tag', 'GET', '/v2/images/%s/tags/one' % img, as_=m)
    rec.x('POST a tag', 'POST', '/v2/images/%s/tags/one' % img, as_=m)
    rec.x('PUT /tags without a tag', 'PUT', '/v2/images/%s/tags' % img, as_=m)
    rec.x('PUT /tags/ with an empty tag', 'PUT', '/v2/images/%s/tags/' % img, as_=m)
    many = rec.create('many-tags', {'name': 'rec-many-tags'}, as_=m)
    for i in range(130):
        r = rec.x('tag %d' % i, 'PUT', '/v2/images/%s/tags/t%03d' % (many, i), as_=m, record=False)
        if r.status != 204:
            rec.record('add tag number %d (image_tag_quota 128)' % (i + 1), r, m)
            break
    rec.x('create with 129 tags', 'POST', '/v2/images', as_=m, body={'name': 'x', 'tags': ['t%03d' % i for i in range(129)]})
    rec.x('patch to 129 tags', 'PATCH', '/v2/images/' + img, as_=m,
          data=json.dumps([{'op': 'replace', 'path': '/tags', 'value': ['t%03d' % i for i in range(129)]}]),
          headers={'Content-Type': PATCH_TYPE})
    rec.cleanup_images()


def area_errors(rec):
    rec.area = 'errors'
    m = 'member'
    img = rec.create('errors', {'name': 'rec-errors'}, as_=m)
    rec.x('401 without token', 'GET', '/v2/images', as_=None)
    rec.x('401 with a bad token', 'GET', '/v2/images', as_=None, headers={'X-Auth-Token': 'bogus'})
    rec.x('401 without token, Accept application/json', 'GET', '/v2/images', as_=None,
          headers={'Accept': 'application/json'})
    rec.x('401 without token, POST', 'POST', '/v2/images', as_=None, body={'name': 'x'})
    for accept in (None, 'application/json', 'text/html', 'text/plain', 'application/xml', '*/*'):
        label = accept or 'no Accept header'
        rec.x('404 unknown image, Accept: %s' % label, 'GET', '/v2/images/00000000-0000-4000-8000-000000000000',
              as_=m, headers={'Accept': accept})
        rec.x('404 unknown URL, Accept: %s' % label, 'GET', '/v2/bogus', as_=m, headers={'Accept': accept})
        rec.x('400 malformed JSON, Accept: %s' % label, 'POST', '/v2/images', as_=m, data=b'{',
              headers={'Content-Type': 'application/json', 'Accept': accept})
        rec.x('403 as reader, Accept: %s' % label, 'POST', '/v2/images', as_='reader', body={'name': 'x'},
              headers={'Accept': accept})
        rec.x('405 wrong method (POST on an image), Accept: %s' % label, 'POST', '/v2/images/' + img,
              as_=m, body={}, headers={'Accept': accept})
        rec.x('401 no token, Accept: %s' % label, 'GET', '/v2/images', as_=None, headers={'Accept': accept})
    rec.x('404 unknown URL /v2/images/{id}/bogus', 'GET', '/v2/images/%s/bogus' % img, as_=m)
    rec.x('unknown version prefix (/v9/images)', 'GET', '/v9/images', as_=m)
    rec.x('404 unknown URL without token', 'GET', '/v2/bogus', as_=None)
    for method, path in (('DELETE', '/v2/images'), ('PUT', '/v2/images'), ('PATCH', '/v2/images'),
                         ('POST', '/v2/images/' + img), ('PUT', '/v2/images/' + img),
                         ('POST', '/v2/images/%s/file' % img), ('DELETE', '/v2/images/%s/file' % img),
                         ('POST', '/v2/schemas/image'), ('DELETE', '/v2/info/import'),
                         ('POST', '/v2/images/%s/members/x' % img), ('PUT', '/v2/tasks')):
        rec.x('405 %s %s' % (method, path), method, path, as_=m)
    rec.x('wrong method without token', 'DELETE', '/v2/images', as_=None)
    rec.x('400 JSON body that is a string', 'POST', '/v2/images', as_=m, data=b'"x"',
          headers={'Content-Type': 'application/json'})
    rec.x('POST /v2/images with Content-Type text/plain', 'POST', '/v2/images', as_=m, data=b'{}', headers={'Content-Type': 'text/plain'})
    rec.x('413 too many properties (image_property_quota 128)', 'POST', '/v2/images', as_=m,
          body=dict(('p%03d' % i, 'v') for i in range(129)))
    rec.x('a 2 MB JSON body (a 2 MB extra property)', 'POST', '/v2/images', as_=m, body={'name': 'x', 'big': 'b' * (2 * 1024 * 1024)})
    rec.x('a header line of 20000 characters', 'GET', '/v2/images', as_=m, headers={'X-Long': 'h' * 20000})
    rec.x('GET /v2/images with a query of 10 KB', 'GET', '/v2/images?name=' + 'n' * 10000, as_=m)
    rec.x('non-UTF-8 in the path', 'GET', '/v2/images/%ff', as_=m)
    rec.x('NUL in the query', 'GET', '/v2/images?name=%00', as_=m)
    rec.x('OPTIONS /v2/images (CORS middleware without origin)', 'OPTIONS', '/v2/images', as_=m)
    rec.x('X-Openstack-Request-Id sent by the client', 'GET', '/v2/images', as_=m,
          headers={'X-Openstack-Request-Id': 'req-11111111-2222-4333-8444-555555555555'})
    rec.x('X-Roles request header (ignored)', 'GET', '/v2/images', as_=m, headers={'X-Roles': 'admin'})
    rec.cleanup_images()


def area_tasks(rec):
    rec.area = 'tasks'
    m = 'member'
    rec.x('list tasks as member', 'GET', '/v2/tasks', as_=m)
    rec.x('list tasks as admin', 'GET', '/v2/tasks', as_='admin')
    img = rec.create('task', {'name': 'rec-task', 'disk_format': 'raw', 'container_format': 'bare'}, as_=m)
    rec.x('stage', 'PUT', '/v2/images/%s/stage' % img, as_=m, data=rec.files.text20,
          headers={'Content-Type': 'application/octet-stream'}, record=False)
    rec.x('import', 'POST', '/v2/images/%s/import' % img, as_=m, body={'method': {'name': 'glance-direct'}}, record=False)
    rec.wait_import(img)
    t = rec.x('GET /v2/images/{id}/tasks', 'GET', '/v2/images/%s/tasks' % img, as_=m)
    tid = t.json['tasks'][0]['id']
    rec.scrub.name(tid, '<task:glance-direct>')
    rec.x('list tasks as admin after an import', 'GET', '/v2/tasks', as_='admin')
    rec.x('list tasks ?type=api_image_import&status=success', 'GET', '/v2/tasks?type=api_image_import&status=success', as_='admin')
    rec.x('list tasks ?status=bogus', 'GET', '/v2/tasks?status=bogus', as_='admin')
    rec.x('list tasks ?sort_key=bogus', 'GET', '/v2/tasks?sort_key=bogus', as_='admin')
    rec.x('list tasks ?limit=1', 'GET', '/v2/tasks?limit=1', as_='admin')
    rec.x('show task as admin', 'GET', '/v2/tasks/' + tid, as_='admin')
    rec.x('show task as owner member', 'GET', '/v2/tasks/' + tid, as_=m)
    rec.x('show unknown task', 'GET', '/v2/tasks/00000000-0000-4000-8000-000000000000', as_='admin')
    rec.x('delete task (405)', 'DELETE', '/v2/tasks/' + tid, as_='admin')
    r = rec.x('create task type import (admin)', 'POST', '/v2/tasks', as_='admin', body={
        'type': 'import', 'input': {'import_from': 'http://127.0.0.1:%d/x' % FILE_PORT, 'import_from_format': 'raw',
                                    'image_properties': {'disk_format': 'raw', 'container_format': 'bare'}}})
    if r.status == 201:
        rec.scrub.name(r.json['id'], '<task:import-type>')
    rec.x('create task as member', 'POST', '/v2/tasks', as_=m, body={
        'type': 'import', 'input': {'import_from': 'http://127.0.0.1:%d/x' % FILE_PORT, 'import_from_format': 'raw',
                                    'image_properties': {'disk_format': 'raw', 'container_format': 'bare'}}})
    rec.x('create task of unknown type', 'POST', '/v2/tasks', as_='admin', body={'type': 'explode', 'input': {}})
    rec.x('GET /v2/schemas/task', 'GET', '/v2/schemas/task', as_=m)
    rec.cleanup_images()


def area_metadefs(rec):
    rec.area = 'metadefs'
    m = 'member'
    rec.x('list namespaces (limit 2)', 'GET', '/v2/metadefs/namespaces?limit=2', as_=m)
    r = rec.x('list all namespaces (names only kept in note)', 'GET', '/v2/metadefs/namespaces?limit=1000', as_=m,
              record=False)
    rec.note('namespaces loaded by glance-manage db load_metadefs: %s' % sorted(
        n['namespace'] for n in (r.json or {}).get('namespaces', [])))
    rec.x('list namespaces ?resource_types=OS::Glance::Image&limit=2', 'GET',
          '/v2/metadefs/namespaces?resource_types=OS::Glance::Image&limit=2', as_=m)
    rec.x('show namespace OS::Compute::Hypervisor', 'GET', '/v2/metadefs/namespaces/OS::Compute::Hypervisor', as_=m)
    rec.x('show namespace OS::Compute::Hypervisor?resource_type=OS::Glance::Image', 'GET',
          '/v2/metadefs/namespaces/OS::Compute::Hypervisor?resource_type=OS::Glance::Image', as_=m)
    rec.x('list resource types', 'GET', '/v2/metadefs/resource_types', as_=m)
    rec.x('list resource types of a namespace', 'GET', '/v2/metadefs/namespaces/OS::Compute::Hypervisor/resource_types', as_=m)
    rec.x('list properties of a namespace', 'GET', '/v2/metadefs/namespaces/OS::Compute::Hypervisor/properties', as_=m)
    rec.x('list objects of a namespace', 'GET', '/v2/metadefs/namespaces/OS::Compute::CPUPinning/objects', as_=m)
    rec.x('show unknown namespace', 'GET', '/v2/metadefs/namespaces/bogus', as_=m)
    ns = 'rec-ns'
    rec.x('create namespace as member', 'POST', '/v2/metadefs/namespaces', as_=m,
          body={'namespace': ns, 'display_name': 'Rec'})
    rec.x('create namespace (admin)', 'POST', '/v2/metadefs/namespaces', as_='admin', body={
        'namespace': ns, 'display_name': 'Rec NS', 'description': 'recorder', 'visibility': 'public',
        'protected': False, 'resource_type_associations': [{'name': 'OS::Glance::Image', 'prefix': 'rec_'}],
        'properties': {'speed': {'type': 'integer', 'title': 'Speed', 'minimum': 1}},
        'objects': [{'name': 'Obj', 'properties': {'p': {'type': 'string', 'title': 'P'}}}],
        'tags': [{'name': 'tag-one'}]})
    rec.x('create namespace again (409)', 'POST', '/v2/metadefs/namespaces', as_='admin', body={'namespace': ns})
    rec.x('create namespace without name (400)', 'POST', '/v2/metadefs/namespaces', as_='admin', body={'display_name': 'x'})
    rec.x('show created namespace', 'GET', '/v2/metadefs/namespaces/' + ns, as_=m)
    rec.x('update namespace (PUT)', 'PUT', '/v2/metadefs/namespaces/' + ns, as_='admin',
          body={'namespace': ns, 'display_name': 'Rec NS 2', 'visibility': 'public'})
    rec.x('create property', 'POST', '/v2/metadefs/namespaces/%s/properties' % ns, as_='admin',
          body={'name': 'color', 'type': 'string', 'title': 'Color', 'enum': ['red', 'blue']})
    rec.x('show property', 'GET', '/v2/metadefs/namespaces/%s/properties/color' % ns, as_=m)
    rec.x('show property with resource prefix', 'GET',
          '/v2/metadefs/namespaces/%s/properties/rec_color?resource_type=OS::Glance::Image' % ns, as_=m)
    rec.x('create property with a bad type', 'POST', '/v2/metadefs/namespaces/%s/properties' % ns, as_='admin',
          body={'name': 'bad', 'type': 'color', 'title': 'Bad'})
    rec.x('create object', 'POST', '/v2/metadefs/namespaces/%s/objects' % ns, as_='admin',
          body={'name': 'Obj2', 'required': ['q'], 'properties': {'q': {'type': 'boolean', 'title': 'Q'}}})
    rec.x('show object', 'GET', '/v2/metadefs/namespaces/%s/objects/Obj2' % ns, as_=m)
    rec.x('list objects', 'GET', '/v2/metadefs/namespaces/%s/objects' % ns, as_=m)
    rec.x('create tag', 'POST', '/v2/metadefs/namespaces/%s/tags/tag-two' % ns, as_='admin')
    rec.x('create tags (POST /tags)', 'POST', '/v2/metadefs/namespaces/%s/tags' % ns, as_='admin',
          body={'tags': [{'name': 'tag-three'}, {'name': 'tag-four'}]})
    rec.x('list tags', 'GET', '/v2/metadefs/namespaces/%s/tags' % ns, as_=m)
    rec.x('show tag', 'GET', '/v2/metadefs/namespaces/%s/tags/tag-two' % ns, as_=m)
    rec.x('associate resource type', 'POST', '/v2/metadefs/namespaces/%s/resource_types' % ns, as_='admin',
          body={'name': 'OS::Cinder::Volume', 'prefix': 'rec_', 'properties_target': 'image'})
    rec.x('list resource type associations', 'GET', '/v2/metadefs/namespaces/%s/resource_types' % ns, as_=m)
    rec.x('delete resource type association', 'DELETE', '/v2/metadefs/namespaces/%s/resource_types/OS::Cinder::Volume' % ns,
          as_='admin')
    rec.x('delete tag', 'DELETE', '/v2/metadefs/namespaces/%s/tags/tag-two' % ns, as_='admin')
    rec.x('delete object', 'DELETE', '/v2/metadefs/namespaces/%s/objects/Obj2' % ns, as_='admin')
    rec.x('delete property', 'DELETE', '/v2/metadefs/namespaces/%s/properties/color' % ns, as_='admin')
    rec.x('delete all tags', 'DELETE', '/v2/metadefs/namespaces/%s/tags' % ns, as_='admin')
    rec.x('delete all objects', 'DELETE', '/v2/metadefs/namespaces/%s/objects' % ns, as_='admin')
    rec.x('delete all properties', 'DELETE', '/v2/metadefs/namespaces/%s/properties' % ns, as_='admin')
    rec.x('create a private namespace as admin', 'POST', '/v2/metadefs/namespaces', as_='admin',
          body={'namespace': 'rec-private-ns', 'visibility': 'private'})
    rec.x('show private namespace as member of another project', 'GET', '/v2/metadefs/namespaces/rec-private-ns', as_=m)
    rec.x('delete namespace as member', 'DELETE', '/v2/metadefs/namespaces/' + ns, as_=m)
    rec.x('delete namespace', 'DELETE', '/v2/metadefs/namespaces/' + ns, as_='admin')
    rec.x('delete private namespace', 'DELETE', '/v2/metadefs/namespaces/rec-private-ns', as_='admin')
    rec.x('show deleted namespace (404)', 'GET', '/v2/metadefs/namespaces/' + ns, as_=m)


def area_quotas(rec):
    """Runs against a glance-ref with use_keystone_limits = True (restarted by main).

    Glance counts sizes in whole MiB, rounded down, and checks a quota before the work with a
    delta of 0 (count_total: 1): an upload is refused only once the project is already over."""
    rec.area = 'quotas'
    q = 'quota'
    oct_ = {'Content-Type': 'application/octet-stream'}
    service_id = rec.glance.env['SERVICE_ID']
    limits = {'image_count_total': 3, 'image_size_total': 1, 'image_stage_total': 1, 'image_count_uploading': 1}
    rec.ks.set_project_limits(service_id, rec.ids['quota'], limits)
    rec.note('project limits of <project:quota> in Keystone: %s (sizes in MiB); registered defaults are '
             'DevStack\'s: image_size_total 1000, image_stage_total 1000, image_count_total 100, '
             'image_count_uploading 100' % json.dumps(limits, sort_keys=True))
    big = b'q' * (2 * 1024 * 1024 + 512 * 1024)
    rec.x('usage with keystone limits', 'GET', '/v2/info/usage', as_=q)
    rec.x('usage as admin (own project, registered defaults)', 'GET', '/v2/info/usage', as_='admin')
    a = rec.create('quota-a', {'name': 'rec-q-a', 'disk_format': 'raw', 'container_format': 'bare'}, as_=q,
                   record_as='create image 1')
    rec.x('upload 2.5 MiB with image_size_total 1 MiB and nothing stored (allowed: checked before)', 'PUT',
          '/v2/images/%s/file' % a, as_=q, data=big, headers=oct_)
    rec.x('usage after the upload', 'GET', '/v2/info/usage', as_=q)
    b = rec.create('quota-b', {'name': 'rec-q-b', 'disk_format': 'raw', 'container_format': 'bare'}, as_=q,
                   record_as='create image 2')
    rec.x('upload 1 byte when over image_size_total', 'PUT', '/v2/images/%s/file' % b, as_=q, data=b'x', headers=oct_)
    rec.x('show after the refused upload', 'GET', '/v2/images/' + b, as_=q)
    rec.x('import glance-direct of an unstaged image when over image_size_total', 'POST',
          '/v2/images/%s/import' % b, as_=q, body={'method': {'name': 'glance-direct'}})
    c = rec.create('quota-c', {'name': 'rec-q-c', 'disk_format': 'raw', 'container_format': 'bare'}, as_=q,
                   record_as='create image 3')
    rec.x('create image 4 with image_count_total 3', 'POST', '/v2/images', as_=q,
          body={'name': 'rec-q-d', 'disk_format': 'raw', 'container_format': 'bare'})
    rec.x('list after the refused create', 'GET', '/v2/images', as_=q)
    rec.x('delete image 1', 'DELETE', '/v2/images/' + a, as_=q)
    rec.x('usage after the delete', 'GET', '/v2/info/usage', as_=q)
    rec.x('stage 2.5 MiB with image_stage_total 1 MiB and nothing staged (allowed)', 'PUT',
          '/v2/images/%s/stage' % b, as_=q, data=big, headers=oct_)
    rec.x('usage with one image staged', 'GET', '/v2/info/usage', as_=q)
    rec.x('stage 1 byte when over image_stage_total', 'PUT', '/v2/images/%s/stage' % c, as_=q, data=b'x',
          headers=oct_)
    rec.x('show after the refused stage', 'GET', '/v2/images/' + c, as_=q)
    rec.ks.set_project_limits(service_id, rec.ids['quota'], dict(limits, image_stage_total=100))
    rec.note('image_stage_total raised to 100: what follows is refused by image_count_uploading 1 only')
    rec.x('stage a second image while one is uploading (image_count_uploading 1)', 'PUT',
          '/v2/images/%s/stage' % c, as_=q, data=b'x', headers=oct_)
    rec.x('show after the refused stage (count)', 'GET', '/v2/images/' + c, as_=q)
    rec.x('upload (PUT file) while another image is uploading', 'PUT', '/v2/images/%s/file' % c, as_=q, data=b'x',
          headers=oct_)
    rec.x('show after the refused upload (count)', 'GET', '/v2/images/' + c, as_=q)
    rec.x('import the staged 2.5 MiB image (image_size_total 1)', 'POST', '/v2/images/%s/import' % b, as_=q,
          body={'method': {'name': 'glance-direct'}})
    seen, task_status = rec.wait_import(b)
    rec.note('import of the staged image: the task enforces image_size_total with the image size as delta; '
             'the image ends %s, task %s' % (seen[-1], task_status))
    t = rec.x('tasks of the refused import', 'GET', '/v2/images/%s/tasks' % b, as_=q)
    if t.json and t.json.get('tasks'):
        rec.scrub.name(t.json['tasks'][0]['id'], '<task:quota-refused>')
    rec.x('show after the refused import', 'GET', '/v2/images/' + b, as_=q)
    rec.x('usage after the refused import', 'GET', '/v2/info/usage', as_=q)
    rec.ks.set_project_limits(service_id, rec.ids['quota'], dict(limits, image_stage_total=100, image_size_total=10))
    rec.note('image_size_total raised to 10')
    rec.x('stage again the image whose import failed (its staged data was left behind)', 'PUT',
          '/v2/images/%s/stage' % b, as_=q, data=big, headers=oct_)
    rec.x('import it again', 'POST', '/v2/images/%s/import' % b, as_=q, body={'method': {'name': 'glance-direct'}})
    rec.x('stage another image', 'PUT', '/v2/images/%s/stage' % c, as_=q, data=big, headers=oct_)
    rec.x('import it', 'POST', '/v2/images/%s/import' % c, as_=q, body={'method': {'name': 'glance-direct'}})
    seen, task_status = rec.wait_import(c)
    rec.note('import with image_size_total 10: the image ends %s, task %s' % (seen[-1], task_status))
    rec.x('show after import', 'GET', '/v2/images/' + c, as_=q)
    rec.x('usage at the end', 'GET', '/v2/info/usage', as_=q)
    rec.ks.set_project_limits(service_id, rec.ids['quota'], {})
    rec.cleanup_images()


AREAS = {
    'versions': area_versions, 'schemas': area_schemas, 'images-crud': area_images_crud,
    'images-list': area_images_list, 'images-patch': area_images_patch, 'images-data': area_images_data,
    'import': area_import, 'stores': area_stores, 'members': area_members, 'tags': area_tags,
    'errors': area_errors, 'tasks': area_tasks, 'metadefs': area_metadefs,
}
LIMITED_AREAS = {'quotas': area_quotas}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ks-url', required=True, help='Keystone v3 URL, e.g. http://127.0.0.1:35410/v3')
    ap.add_argument('--password', default='secret', help='Keystone admin password')
    ap.add_argument('--gl-dir', default='/tmp/gl-rec')
    ap.add_argument('--gl-port', type=int, default=19292)
    ap.add_argument('--only', help='comma-separated areas (default: all)')
    ap.add_argument('--keep-running', action='store_true', help='leave glance-ref running at the end')
    args = ap.parse_args()
    only = set(args.only.split(',')) if args.only else set(AREAS) | set(LIMITED_AREAS)
    unknown = only - set(AREAS) - set(LIMITED_AREAS)
    if unknown:
        sys.exit('unknown areas: %s' % ', '.join(sorted(unknown)))
    rec = Recorder(args)
    rec.tmp = tempfile.mkdtemp(prefix='glrec-')
    rec.files = Files(rec.tmp)
    rec.setup_personas()
    try:
        if only & set(AREAS):
            rec.start_glance()
            for name, fn in AREAS.items():
                if name in only:
                    rec.log('== ' + name)
                    fn(rec)
        if only & set(LIMITED_AREAS):
            rec.start_glance(keystone_limits=True)
            for name, fn in LIMITED_AREAS.items():
                if name in only:
                    rec.log('== ' + name)
                    fn(rec)
    finally:
        if not args.keep_running and rec.glance:
            rec.glance.stop()
        rec.write()   # also what was recorded before a failure, to look at


if __name__ == '__main__':
    main()
