#!/usr/bin/python3
"""Create (idempotently) what upstream Glance needs in a Keystone v3: the glance service user.

Called by start.sh; prints shell assignments (ENDPOINT_ID=..., SERVICE_ID=...) on stdout.
What it does, as DevStack's lib/glance does:
  - project `service` and role `service` in the Default domain, if missing;
  - user `glance` (Default domain) with the given password (reset if the user exists),
    roles `service` and `admin` on project `service`;
  - with --register: service `glance` of type `image` and its public/internal/admin endpoints
    in RegionOne at --glance-url (URLs updated if they differ);
  - with --limits: also the glance user's `reader` role on the system (oslo.limit reads limits
    with a system-scoped token) and the registered limits image_size_total,
    image_stage_total (MiB), image_count_total, image_count_uploading (devstack's defaults
    unless given), so that [DEFAULT] use_keystone_limits = True works.

    keystone-setup.py --ks-url http://127.0.0.1:35357/v3 --admin-password secret \
        --glance-password PW [--register --glance-url http://127.0.0.1:19292] [--limits]
"""
import argparse
import sys

import requests

REGION = 'RegionOne'
DEFAULT_LIMITS = {  # DevStack's GLANCE_LIMIT_* defaults
    'image_size_total': 1000,
    'image_stage_total': 1000,
    'image_count_total': 100,
    'image_count_uploading': 100,
}


class Keystone:
    def __init__(self, url, password):
        self.url = url.rstrip('/')
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': 'admin', 'domain': {'id': 'default'}, 'password': password}}},
            'scope': {'project': {'name': 'admin', 'domain': {'id': 'default'}}}}}
        r = requests.post(self.url + '/auth/tokens', json=body, timeout=60)
        if r.status_code != 201:
            sys.exit('keystone-setup: admin token refused: %s %s' % (r.status_code, r.text))
        self.token = r.headers['X-Subject-Token']

    def call(self, method, path, body=None, ok=(200, 201, 204)):
        r = requests.request(method, self.url + path, json=body, timeout=60,
                             headers={'X-Auth-Token': self.token})
        if r.status_code not in ok:
            sys.exit('keystone-setup: %s %s -> %s %s' % (method, path, r.status_code, r.text))
        return r.json() if r.content else None

    def one(self, collection, key, query):
        items = self.call('GET', '/%s?%s' % (collection, query))[collection]
        return items[0] if items else None

    def ensure(self, collection, key, query, body):
        found = self.one(collection, key, query)
        if found:
            return found
        return self.call('POST', '/' + collection, {key: body})[key]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ks-url', required=True)
    ap.add_argument('--admin-password', required=True)
    ap.add_argument('--glance-password', required=True)
    ap.add_argument('--register', action='store_true')
    ap.add_argument('--glance-url')
    ap.add_argument('--limits', action='store_true')
    ap.add_argument('--limit', action='append', default=[], metavar='NAME=VALUE',
                    help='registered limit default instead of devstack\'s (repeatable)')
    args = ap.parse_args()
    ks = Keystone(args.ks_url, args.admin_password)

    project = ks.ensure('projects', 'project', 'name=service&domain_id=default',
                        {'name': 'service', 'domain_id': 'default',
                         'description': 'Service project (glance-ref)'})
    service_role = ks.ensure('roles', 'role', 'name=service', {'name': 'service'})
    admin_role = ks.one('roles', 'role', 'name=admin')
    reader_role = ks.one('roles', 'role', 'name=reader')
    user = ks.one('users', 'user', 'name=glance&domain_id=default')
    if user:
        ks.call('PATCH', '/users/' + user['id'],
                {'user': {'password': args.glance_password, 'enabled': True}})
    else:
        user = ks.call('POST', '/users', {'user': {
            'name': 'glance', 'domain_id': 'default', 'password': args.glance_password}})['user']
    for role in (service_role, admin_role):
        ks.call('PUT', '/projects/%s/users/%s/roles/%s' % (project['id'], user['id'], role['id']))

    out = {}
    if args.register or args.limits:
        if not args.glance_url:
            sys.exit('keystone-setup: --register needs --glance-url')
        service = ks.ensure('services', 'service', 'type=image',
                            {'name': 'glance', 'type': 'image', 'enabled': True,
                             'description': 'Glance Image Service (glance-ref)'})
        out['SERVICE_ID'] = service['id']
        endpoints = ks.call('GET', '/endpoints?service_id=' + service['id'])['endpoints']
        for iface in ('public', 'internal', 'admin'):
            mine = [e for e in endpoints if e['interface'] == iface and e.get('region_id') == REGION]
            if mine:
                ep = mine[0]
                if ep['url'] != args.glance_url:
                    ks.call('PATCH', '/endpoints/' + ep['id'], {'endpoint': {'url': args.glance_url}})
            else:
                ep = ks.call('POST', '/endpoints', {'endpoint': {
                    'service_id': service['id'], 'interface': iface, 'region_id': REGION,
                    'url': args.glance_url}})['endpoint']
            if iface == 'public':
                out['ENDPOINT_ID'] = ep['id']
    if args.limits:
        ks.call('PUT', '/system/users/%s/roles/%s' % (user['id'], reader_role['id']))
        wanted = dict(DEFAULT_LIMITS)
        for item in args.limit:
            name, _, value = item.partition('=')
            wanted[name] = int(value)
        existing = {rl['resource_name']: rl for rl in ks.call(
            'GET', '/registered_limits?service_id=' + out['SERVICE_ID'])['registered_limits']}
        create = []
        for name, value in wanted.items():
            if name in existing:
                if existing[name]['default_limit'] != value:
                    ks.call('PATCH', '/registered_limits/' + existing[name]['id'],
                            {'registered_limit': {'default_limit': value}})
            else:
                create.append({'service_id': out['SERVICE_ID'], 'region_id': REGION,
                               'resource_name': name, 'default_limit': value})
        if create:
            ks.call('POST', '/registered_limits', {'registered_limits': create})
    out['GLANCE_USER_ID'] = user['id']
    out['SERVICE_PROJECT_ID'] = project['id']
    for k, v in out.items():
        print('%s=%s' % (k, v))


if __name__ == '__main__':
    main()
