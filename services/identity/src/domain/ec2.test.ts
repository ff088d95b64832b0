// AWS signatures and timestamps, checked against what keystoneclient's Ec2Signer and iso8601 compute for the same input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ec2CredentialId, ec2Signature, ec2SignatureMatches, ec2TimestampProblem, parseIsoTime } from './ec2.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const EMPTY = createHash('sha256').update('').digest('hex');

// each expected value was printed by python3-keystoneclient 5.0.1 (Debian 12) for the same dict
const v4 = {
  access: 'AKIDEXAMPLE',
  host: 's3.example.com:8080',
  verb: 'GET',
  path: '/bucket/key',
  params: { 'list-type': '2', prefix: 'a b/ü' },
  headers: {
    Host: 's3.example.com:8080',
    'X-Amz-Date': '20240102T030405Z',
    'X-Amz-Content-Sha256': EMPTY,
    Authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=x',
  },
  body_hash: EMPTY,
};
const v2 = {
  access: 'AKIDEXAMPLE',
  host: 'ec2.example.com',
  verb: 'GET',
  path: '/',
  params: {
    Action: 'DescribeInstances',
    SignatureVersion: '2',
    SignatureMethod: 'HmacSHA1',
    Timestamp: '2024-01-02T03:04:05Z',
    AWSAccessKeyId: 'AKIDEXAMPLE',
    Version: '2010-08-31',
    'Filter.1.Value': 'a*b ~c',
  },
};

describe('Ec2Signer compatibility', () => {
  test('signature version 4, from the Authorization header', () => {
    assert.equal(ec2Signature(SECRET, v4), 'abb596111990b2840a166e071723db30267a82b8f62718e581de6f2b1569f2d2');
  });
  test('signature version 4, presigned in the query, POST', () => {
    const creds = {
      access: 'AKIDEXAMPLE',
      host: 'h',
      verb: 'POST',
      path: '/',
      params: { 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256', 'X-Amz-Credential': 'AKIDEXAMPLE/20240102/RegionOne/ec2/aws4_request', 'X-Amz-Date': '20240102T030405Z', 'X-Amz-SignedHeaders': 'host' },
      headers: { Host: 'h' },
      body_hash: 'abc',
    };
    assert.equal(ec2Signature(SECRET, creds), 'a7723ae2fb146f3ba9a0c685e94cb941e720f1ef0f74c5f39acacb6dcfc282e2');
  });
  test('signature version 2 is always HmacSHA256, whatever SignatureMethod says (Ec2Signer rewrites it)', () => {
    assert.equal(ec2Signature(SECRET, v2), 'DOgaT2XZBilrMVLhm8GlGY51TgAiGb/H3cTwgbTyWYw=');
  });
  test('signature versions 1 and 0', () => {
    assert.equal(ec2Signature(SECRET, { params: { Action: 'DescribeImages', SignatureVersion: '1', b: 'x', A: 'y', n: 5 } }), 'dv31Vpz361xpx6qAEq0MvGV6yEo=');
    assert.equal(ec2Signature(SECRET, { params: { Action: 'DescribeImages', SignatureVersion: '0', Timestamp: '2024-01-02T03:04:05Z' } }), 'A6CBzzcmm4NvapNzuVbk1kOh6HY=');
  });
  test('a matching signature passes, also when the client signed the host without its port', () => {
    assert.ok(ec2SignatureMatches(SECRET, { ...v4, signature: 'abb596111990b2840a166e071723db30267a82b8f62718e581de6f2b1569f2d2' }));
    const bare = ec2Signature(SECRET, { ...v2, host: 'ec2.example.com' });
    assert.ok(ec2SignatureMatches(SECRET, { ...v2, host: 'EC2.example.com:443', signature: bare }));
    assert.ok(!ec2SignatureMatches(SECRET, { ...v4, signature: 'abb596111990b2840a166e071723db30267a82b8f62718e581de6f2b1569f2d3' }));
    assert.ok(!ec2SignatureMatches('other-secret', { ...v2, signature: 'DOgaT2XZBilrMVLhm8GlGY51TgAiGb/H3cTwgbTyWYw=' }));
  });
  test('an unsignable request does not match (unknown version, date outside the credential scope)', () => {
    assert.ok(!ec2SignatureMatches(SECRET, { params: { SignatureVersion: '9' }, signature: 'x' }));
    const wrongDay = { ...v4, headers: { ...v4.headers, 'X-Amz-Date': '20240103T030405Z' }, signature: 'x' };
    assert.ok(!ec2SignatureMatches(SECRET, wrongDay));
  });
});

describe('timestamps', () => {
  test('parse as iso8601.parse_date does', () => {
    // python3-iso8601 1.0.2's answers, in seconds
    assert.equal(parseIsoTime('20240102T030405Z'), 1704164645_000);
    assert.equal(parseIsoTime('2024-01-02T03:04:05.123+02:00'), 1704157445_123);
    assert.equal(parseIsoTime('2024-01-02'), 1704153600_000);
    assert.equal(parseIsoTime('2024'), 1704067200_000);
    assert.equal(parseIsoTime('2024-01-02 03:04'), 1704164640_000);
    assert.equal(parseIsoTime('2024-1-2T03:04:05-0530'), 1704184445_000);
    assert.equal(parseIsoTime('202401'), undefined);
    assert.equal(parseIsoTime('yesterday'), undefined);
  });
  test('older than auth_ttl minutes is expired; future and absent timestamps pass, as upstream', () => {
    const at = Date.UTC(2024, 0, 2, 3, 4, 5);
    assert.equal(ec2TimestampProblem(v4, at + 15 * 60_000, 15), undefined);
    assert.equal(ec2TimestampProblem(v4, at + 15 * 60_000 + 1, 15), 'expired');
    assert.equal(ec2TimestampProblem(v2, at - 3_600_000, 15), undefined);
    assert.equal(ec2TimestampProblem({ params: {} }, at, 15), undefined);
    assert.equal(ec2TimestampProblem({ params: { Timestamp: 'soon' } }, at, 15), 'invalid');
  });
});

test('an EC2 credential id is the sha256 of its access key', () => {
  assert.equal(ec2CredentialId('a1'), 'f55ff16f66f43360266b95db6f8fec01d76031054306ae4a4b380598f6cfd114');
});
