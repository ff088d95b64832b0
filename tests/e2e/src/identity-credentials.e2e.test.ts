// Credentials, EC2 and OAuth1 as an operator and a consumer use them with the real openstack CLI:
// credentials encrypted at rest, EC2 key pairs and a token from an AWS signature made by
// keystoneclient's own signer, and the whole OAuth1 delegation ending in `openstack token issue`.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { openDatabase } from '@alto/db';
import { HAVE_OPENSTACK, modes, openstack, openstackJson, python, startCloud, type Cloud } from '@alto/testing';

interface Row {
  [k: string]: unknown;
}

for (const m of modes().filter((x) => x.mode === 'embedded')) {
  const skip = m.unavailable ?? (HAVE_OPENSTACK ? false : 'the openstack CLI is not installed (scripts/test installs python3-openstackclient)');
  describe(`identity credentials, EC2 and OAuth1, ${m.mode}`, { skip }, () => {
    let c: Cloud;
    let adminId: string;
    before(async () => {
      c = await startCloud(m.mode);
      openstack(c.osEnv, ['project', 'create', 'demo']);
      openstack(c.osEnv, ['user', 'create', '--project', 'demo', '--password', 'Demo-user-pw1', 'demo-user']);
      openstack(c.osEnv, ['role', 'add', '--project', 'demo', '--user', 'demo-user', 'member']);
      adminId = String(openstackJson<Row>(c.osEnv, ['user', 'show', 'admin']).id);
    });
    after(async () => {
      await c?.stop();
    });

    /** Password credentials for another user or project than the clouds.yaml's. */
    const as = (user: string, password: string, project: string): NodeJS.ProcessEnv => {
      const { OS_CLOUD: _c, OS_CLIENT_CONFIG_FILE: _f, ...rest } = c.osEnv;
      return { ...rest, OS_AUTH_URL: `${c.url}/v3`, OS_USERNAME: user, OS_PASSWORD: password, OS_PROJECT_NAME: project, OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    };

    test('openstack credential create/list/show/set/delete; the blob is not stored in clear', async () => {
      const demoUser = String(openstackJson<Row>(c.osEnv, ['user', 'show', 'demo-user']).id);
      const cred = openstackJson<Row>(c.osEnv, ['credential', 'create', '--type', 'ec2', '--project', 'demo', 'demo-user', '{"access":"a","secret":"s"}']);
      const id = createHash('sha256').update('a').digest('hex');
      assert.deepEqual([cred.id, cred.type, cred.user_id, cred.blob], [id, 'ec2', demoUser, '{"access":"a","secret":"s"}']);
      assert.ok(openstackJson<Row[]>(c.osEnv, ['credential', 'list']).some((r) => r.ID === id));
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['credential', 'list', '--type', 'cert']), []);

      const db = openDatabase<{ credential: { id: string; encrypted_blob: string } }>({ connection: `sqlite:///${join(c.dataDir, 'identity.db')}` });
      try {
        const stored = await db.db.selectFrom('credential').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        assert.ok(stored.encrypted_blob.startsWith('gAAAAA') && !stored.encrypted_blob.includes('"secret"'));
      } finally {
        await db.close();
      }

      openstack(c.osEnv, ['credential', 'set', '--type', 'ec2', '--project', 'admin', '--user', 'demo-user', '--data', '{"access":"a","secret":"s2"}', id]);
      const shown = openstackJson<Row>(c.osEnv, ['credential', 'show', id]);
      assert.equal(shown.blob, '{"access":"a","secret":"s2"}');
      assert.equal(shown.project_id, openstackJson<Row>(c.osEnv, ['project', 'show', 'admin']).id);

      // the owner sees it, another member of demo does not
      const member = as('demo-user', 'Demo-user-pw1', 'demo');
      assert.equal(openstackJson<Row>(member, ['credential', 'show', id]).id, id);
      openstack(c.osEnv, ['credential', 'delete', id]);
      assert.match(openstack(c.osEnv, ['credential', 'show', id], { allowFailure: true }).stderr, /404|No credential/);
    });

    test('openstack ec2 credentials, and a token from an AWS v4 signature made by keystoneclient', async () => {
      const member = as('demo-user', 'Demo-user-pw1', 'demo');
      const ec2 = openstackJson<Row>(member, ['ec2', 'credentials', 'create']);
      const access = String(ec2.access);
      assert.match(access, /^[0-9a-f]{32}$/);
      assert.equal(ec2.project_id, openstackJson<Row>(c.osEnv, ['project', 'show', 'demo']).id);
      assert.ok(openstackJson<Row[]>(member, ['ec2', 'credentials', 'list']).some((r) => r.Access === access));
      assert.equal(openstackJson<Row>(member, ['ec2', 'credentials', 'show', access]).secret, ec2.secret);

      // what swift's s3api sends to Keystone for a request signed with this key pair
      const admin = String(openstackJson<Row>(c.osEnv, ['token', 'issue']).id);
      const answer = python<{ status: number; methods: string[]; project: string; user: string; subject: string }>(
        { ...c.osEnv, EC2_URL: `${c.url}/v3/ec2tokens`, EC2_ACCESS: access, EC2_SECRET: String(ec2.secret), ADMIN_TOKEN: admin },
        `
import datetime, hashlib, json, os, urllib.request
from keystoneclient.contrib.ec2.utils import Ec2Signer
now = datetime.datetime.utcnow().strftime('%Y%m%dT%H%M%SZ')
creds = {'access': os.environ['EC2_ACCESS'], 'host': 's3.example.com:8080', 'verb': 'GET', 'path': '/bucket',
         'params': {}, 'body_hash': hashlib.sha256(b'').hexdigest(),
         'headers': {'Host': 's3.example.com:8080', 'X-Amz-Date': now,
                     'Authorization': 'AWS4-HMAC-SHA256 Credential=%s/%s/RegionOne/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=x' % (os.environ['EC2_ACCESS'], now[:8])}}
creds['signature'] = Ec2Signer(os.environ['EC2_SECRET']).generate(dict(creds))
req = urllib.request.Request(os.environ['EC2_URL'], data=json.dumps({'credentials': creds}).encode(), method='POST',
                             headers={'Content-Type': 'application/json', 'X-Auth-Token': os.environ['ADMIN_TOKEN']})
with urllib.request.urlopen(req) as r:
    t = json.load(r)['token']
    print(json.dumps({'status': r.status, 'methods': t['methods'], 'project': t['project']['name'], 'user': t['user']['name'], 'subject': r.headers['X-Subject-Token']}))
`,
      );
      assert.deepEqual([answer.status, answer.methods, answer.project, answer.user], [200, ['ec2credential'], 'demo', 'demo-user']);
      assert.match(answer.subject, /^gAAAAA/);

      openstack(member, ['ec2', 'credentials', 'delete', access]);
      assert.ok(!openstackJson<Row[]>(member, ['ec2', 'credentials', 'list']).some((r) => r.Access === access));
    });

    test('openstack consumer create/list/show/set/delete', () => {
      const consumer = openstackJson<Row>(c.osEnv, ['consumer', 'create', '--description', 'c1']);
      assert.match(String(consumer.secret), /^[0-9a-f]{32}$/);
      assert.ok(openstackJson<Row[]>(c.osEnv, ['consumer', 'list']).some((r) => r.ID === consumer.id && r.Description === 'c1'));
      openstack(c.osEnv, ['consumer', 'set', '--description', 'c2', String(consumer.id)]);
      const shown = openstackJson<Row>(c.osEnv, ['consumer', 'show', String(consumer.id)]);
      assert.deepEqual([shown.description, shown.secret], ['c2', undefined]);
      openstack(c.osEnv, ['consumer', 'delete', String(consumer.id)]);
      assert.ok(!openstackJson<Row[]>(c.osEnv, ['consumer', 'list']).some((r) => r.ID === consumer.id));
    });

    test('OAuth1 delegation: request token, authorize, access token, then openstack token issue as the consumer', () => {
      const consumer = openstackJson<Row>(c.osEnv, ['consumer', 'create', '--description', 'delegate']);
      const [key, secret] = [String(consumer.id), String(consumer.secret)];
      const rt = openstackJson<Row>(c.osEnv, ['request', 'token', 'create', '--consumer-key', key, '--consumer-secret', secret, '--project', 'admin']);
      const verifier = String(openstackJson<Row>(c.osEnv, ['request', 'token', 'authorize', '--request-key', String(rt.key), '--role', 'reader']).oauth_verifier);
      const at = openstackJson<Row>(c.osEnv, [
        'access', 'token', 'create', '--consumer-key', key, '--consumer-secret', secret, '--request-key', String(rt.key), '--request-secret', String(rt.secret), '--verifier', verifier,
      ]);
      const { OS_CLOUD: _c, OS_CLIENT_CONFIG_FILE: _f, ...rest } = c.osEnv;
      const asConsumer = {
        ...rest,
        OS_AUTH_URL: `${c.url}/v3`,
        OS_AUTH_TYPE: 'v3oauth1',
        OS_CONSUMER_KEY: key,
        OS_CONSUMER_SECRET: secret,
        OS_ACCESS_KEY: String(at.key),
        OS_ACCESS_SECRET: String(at.secret),
        OS_IDENTITY_API_VERSION: '3',
      };
      const token = openstackJson<Row>(asConsumer, ['token', 'issue']);
      assert.equal(token.user_id, adminId);
      assert.equal(token.project_id, openstackJson<Row>(c.osEnv, ['project', 'show', 'admin']).id);
      // deleting the consumer ends the delegation
      openstack(c.osEnv, ['consumer', 'delete', key]);
      assert.notEqual(openstack(asConsumer, ['token', 'issue'], { allowFailure: true }).status, 0);
    });
  });
}
