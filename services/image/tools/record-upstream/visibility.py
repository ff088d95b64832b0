#!/usr/bin/python3
"""Record upstream Glance's answers to the image visibility matrix (personas x images x operations).

Runs services/image/fixtures/visibility/scenario.json against upstream Glance (tools/glance-ref,
started here from scratch with its default glance-api.conf: secure RBAC, Zed's default
policies) and writes services/image/fixtures/visibility/upstream.json: per case the status
code, and for lists the sorted labels of the scenario's images that were listed. The rules
(setup, variables, fresh copies) are in services/image/fixtures/visibility/README.md; the
lead's persona test runs the same scenario against our service and compares.

    KS_DIR=/tmp/ks-glrec KS_PORT=35410 KS_PROCESSES=1 /work/shared/tools/keystone-ref/start.sh
    /usr/bin/python3 services/image/tools/record-upstream/visibility.py \\
        --ks-url http://127.0.0.1:35410/v3 --password secret [--only show,delete]

Re-runnable and deterministic: Keystone personas are made idempotently (names start with
vis-), Glance starts with an empty database, cases run in the scenario's order.
"""
import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reclib  # noqa: E402

reclib.reexec_under_debian_python()

FIXTURES = os.path.join(reclib.REPO, 'services', 'image', 'fixtures', 'visibility')
VAR = re.compile(r'\$\{([a-z_:\-]+)\}')


def subst(value, vars_):
    """${name} placeholders replaced in every string of a JSON value."""
    if isinstance(value, str):
        return VAR.sub(lambda m: vars_[m.group(1)], value)
    if isinstance(value, list):
        return [subst(v, vars_) for v in value]
    if isinstance(value, dict):
        return {k: subst(v, vars_) for k, v in value.items()}
    return value


class Run:
    def __init__(self, args, scenario):
        self.args = args
        self.sc = scenario
        self.tokens = {}
        self.vars = {}
        self.base = None

    def call(self, persona, method, path, body=None, data=None, content_type=None, expect=None):
        headers = {}
        if content_type:
            headers['Content-Type'] = content_type
        if body is not None and content_type:
            data = json.dumps(body).encode()
            body = None
        r = reclib.call(self.base, method, path, token=self.tokens[persona], json_body=body, data=data,
                        headers=headers)
        if expect and r.status not in expect:
            raise RuntimeError('%s %s as %s: %s' % (method, path, persona, r))
        return r

    def setup_keystone(self):
        ks = reclib.Keystone(self.args.ks_url, self.args.password)
        pw = self.sc['password']
        for persona, p in self.sc['personas'].items():
            pid = ks.ensure_project(p['project'])
            ks.ensure_user(p['user'], pw, pid, p['roles'])
            self.vars['project:' + persona] = pid
        for name, project in self.sc['projects'].items():
            self.vars['project:' + name] = ks.ensure_project(project)
        time.sleep(1.1)   # Keystone refuses tokens issued in the second of a password change
        for persona, p in self.sc['personas'].items():
            self.tokens[persona] = ks.token(p['user'], pw, p['project'])

    def build(self, kind):
        """One image of the scenario's kind, made as the README says; its id."""
        spec = self.sc['images'][kind]
        who = spec['create_as']
        r = self.call(who, 'POST', '/v2/images', body=subst(spec['body'], self.vars), expect=(201,))
        image_id = r.json['id']
        self.call(who, 'PUT', '/v2/images/%s/file' % image_id, data=spec['data'].encode(),
                  content_type='application/octet-stream', expect=(204,))
        owner_persona = who if who != 'admin' else 'owner-member'
        for persona, status in spec.get('members', {}).items():
            project = self.vars['project:' + persona]
            self.call(owner_persona, 'POST', '/v2/images/%s/members' % image_id, body={'member': project},
                      expect=(200,))
            if status != 'pending':
                self.call(persona, 'PUT', '/v2/images/%s/members/%s' % (image_id, project),
                          body={'status': status}, expect=(200,))
        if spec.get('deactivate'):
            self.call('admin', 'POST', '/v2/images/%s/actions/deactivate' % image_id, expect=(204,))
        return image_id

    def remove(self, image_id):
        r = self.call('admin', 'GET', '/v2/images/' + image_id)
        if r.status == 404:
            return
        if r.json.get('protected'):
            self.call('admin', 'PATCH', '/v2/images/' + image_id,
                      body=[{'op': 'replace', 'path': '/protected', 'value': False}],
                      content_type='application/openstack-images-v2.1-json-patch', expect=(200,))
        self.call('admin', 'DELETE', '/v2/images/' + image_id, expect=(204,))

    def run(self, only):
        results = {}
        base = {kind: self.build(kind) for kind in self.sc['images']}
        label_of = {v: k for k, v in base.items()}
        for persona in self.sc['personas']:
            for name, path in self.sc['lists'].items():
                if only and 'list:' + name not in only and 'list' not in only:
                    continue
                r = self.call(persona, 'GET', path)
                entry = {'status': r.status}
                if r.status == 200:
                    entry['images'] = sorted(label_of[i['id']] for i in r.json['images'] if i['id'] in label_of)
                results['list:%s@%s' % (name, persona)] = entry
        for persona in self.sc['personas']:
            print('==', persona, flush=True)
            for kind in self.sc['images']:
                for op_name, op in self.sc['operations'].items():
                    if only and op_name not in only:
                        continue
                    image_id = self.build(kind) if op.get('fresh') else base[kind]
                    v = dict(self.vars, image=image_id, own_project=self.vars['project:' + persona])
                    r = self.call(persona, op['method'], subst(op['path'], v), body=subst(op.get('body'), v),
                                  content_type=op.get('content_type') or ('application/json' if 'body' in op else None))
                    results['%s@%s/%s' % (op_name, persona, kind)] = {'status': r.status}
                    if op.get('fresh'):
                        self.remove(image_id)
        return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ks-url', required=True)
    ap.add_argument('--password', default='secret')
    ap.add_argument('--gl-dir', default='/tmp/gl-vis')
    ap.add_argument('--gl-port', type=int, default=19292)
    ap.add_argument('--only', help='comma-separated operation names (and "list"); writes upstream.partial.json')
    ap.add_argument('--keep-running', action='store_true')
    args = ap.parse_args()
    with open(os.path.join(FIXTURES, 'scenario.json')) as f:
        scenario = json.load(f)
    only = set(args.only.split(',')) if args.only else None
    run = Run(args, scenario)
    run.setup_keystone()
    glance = reclib.GlanceRef(args.gl_dir, args.gl_port, args.ks_url, args.password)
    run.base = glance.start()
    try:
        results = run.run(only)
    finally:
        if not args.keep_running:
            glance.stop()
    out = {
        'recorded': 'services/image/tools/record-upstream/visibility.py against Debian python3-glance '
                    '2:25.1.0 (Zed) from tools/glance-ref: Zed\'s default policies, [oslo_policy] '
                    'enforce_new_defaults and enforce_scope, [DEFAULT] enforce_secure_rbac; see README.md',
        'results': results,
    }
    path = os.path.join(FIXTURES, 'upstream.partial.json' if only else 'upstream.json')
    with open(path, 'w') as f:
        f.write('{\n  "recorded": %s,\n  "results": {\n' % json.dumps(out['recorded']))
        f.write(',\n'.join('    %s: %s' % (json.dumps(k), json.dumps(v)) for k, v in results.items()))
        f.write('\n  }\n}\n')
    print('wrote %s (%d cases)' % (os.path.relpath(path, reclib.REPO), len(results)))


if __name__ == '__main__':
    main()
