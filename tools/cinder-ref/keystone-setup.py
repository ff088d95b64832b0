#!/usr/bin/python3
"""Create (idempotently) what upstream Cinder needs in a Keystone v3: the cinder service user.

Called by start.sh; prints shell assignments (CINDER_USER_ID=..., SERVICE_PROJECT_ID=...,
with --register also VOLUMEV3_SERVICE_ID, BLOCK_STORAGE_SERVICE_ID, ENDPOINT_ID) on stdout.
What it does, as DevStack's lib/cinder (Zed) does:
  - project `service` and role `service` in the Default domain, if missing;
  - user `cinder` (Default domain) with the given password (reset if the user exists),
    roles `service` and `admin` on project `service`;
  - with --register: services `cinderv3` (type volumev3) and `cinder` (type block-storage),
    each with public/internal/admin endpoints in RegionOne at <cinder-url>/v3/$(project_id)s
    (URLs updated if they differ).

    keystone-setup.py --ks-url http://127.0.0.1:35430/v3 --admin-password secret \
        --cinder-password PW [--register --cinder-url http://127.0.0.1:18776]
"""
import argparse
import sys

import requests

REGION = 'RegionOne'
# (service name, service type) as DevStack registers them for Cinder v3
SERVICES = (('cinderv3', 'volumev3'), ('cinder', 'block-storage'))


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

    def one(self, collection, query):
        items = self.call('GET', '/%s?%s' % (collection, query))[collection]
        return items[0] if items else None

    def ensure(self, collection, key, query, body):
        found = self.one(collection, query)
        if found:
            return found
        return self.call('POST', '/' + collection, {key: body})[key]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ks-url', required=True)
    ap.add_argument('--admin-password', required=True)
    ap.add_argument('--cinder-password', required=True)
    ap.add_argument('--register', action='store_true')
    ap.add_argument('--cinder-url')
    args = ap.parse_args()
    ks = Keystone(args.ks_url, args.admin_password)

    project = ks.ensure('projects', 'project', 'name=service&domain_id=default',
                        {'name': 'service', 'domain_id': 'default',
                         'description': 'Service project (cinder-ref)'})
    service_role = ks.ensure('roles', 'role', 'name=service', {'name': 'service'})
    admin_role = ks.one('roles', 'name=admin')
    user = ks.one('users', 'name=cinder&domain_id=default')
    if user:
        ks.call('PATCH', '/users/' + user['id'],
                {'user': {'password': args.cinder_password, 'enabled': True}})
    else:
        user = ks.call('POST', '/users', {'user': {
            'name': 'cinder', 'domain_id': 'default', 'password': args.cinder_password}})['user']
    for role in (service_role, admin_role):
        ks.call('PUT', '/projects/%s/users/%s/roles/%s' % (project['id'], user['id'], role['id']))

    out = {}
    if args.register:
        if not args.cinder_url:
            sys.exit('keystone-setup: --register needs --cinder-url')
        url = args.cinder_url.rstrip('/') + '/v3/$(project_id)s'
        for name, stype in SERVICES:
            service = ks.ensure('services', 'service', 'type=' + stype,
                                {'name': name, 'type': stype, 'enabled': True,
                                 'description': 'Cinder Volume Service (cinder-ref)'})
            out['%s_SERVICE_ID' % stype.upper().replace('-', '_')] = service['id']
            endpoints = ks.call('GET', '/endpoints?service_id=' + service['id'])['endpoints']
            for iface in ('public', 'internal', 'admin'):
                mine = [e for e in endpoints if e['interface'] == iface and e.get('region_id') == REGION]
                if mine:
                    ep = mine[0]
                    if ep['url'] != url:
                        ks.call('PATCH', '/endpoints/' + ep['id'], {'endpoint': {'url': url}})
                else:
                    ep = ks.call('POST', '/endpoints', {'endpoint': {
                        'service_id': service['id'], 'interface': iface, 'region_id': REGION,
                        'url': url}})['endpoint']
                if iface == 'public' and stype == 'block-storage':
                    out['ENDPOINT_ID'] = ep['id']
    out['CINDER_USER_ID'] = user['id']
    out['SERVICE_PROJECT_ID'] = project['id']
    for k, v in out.items():
        print('%s=%s' % (k, v))


if __name__ == '__main__':
    main()
