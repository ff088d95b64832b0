// OAuth1 signatures and request checks, against headers python3-oauthlib 3.2.2's Client signed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OAuth1RequestError, baseStringUri, checkOAuth1Request, oauthSignatureMatches, parseOAuthHeader, type OAuth1Request } from './oauth1.js';

const AT = 1700000000_000;
const requestToken: OAuth1Request = {
  method: 'POST',
  uri: 'http://Example.COM:80/v3/OS-OAUTH1/request_token',
  query: [
    ['b', '2'],
    ['a', '1 x'],
  ],
  authorization:
    'OAuth oauth_nonce="12345678901234567890", oauth_timestamp="1700000000", oauth_version="1.0", oauth_signature_method="HMAC-SHA1", oauth_consumer_key="0123456789abcdef0123456789abcdef", oauth_callback="oob", oauth_signature="Tt7zSNvMWRAImFNbZmx%2F1RLIaOs%3D"',
};
const accessToken: OAuth1Request = {
  method: 'POST',
  uri: 'https://ks.example.com:5000/v3/OS-OAUTH1/access_token',
  query: [],
  authorization:
    'OAuth oauth_nonce="999", oauth_timestamp="1700000000", oauth_version="1.0", oauth_signature_method="HMAC-SHA1", oauth_consumer_key="0123456789abcdef0123456789abcdef", oauth_token="fedcba9876543210fedcba9876543210", oauth_verifier="abcdEFGH", oauth_signature="bQS%2FRtzKBdK7wbHpN6DiEPCqATo%3D"',
};

describe('OAuth1 signatures as oauthlib signs them', () => {
  test('HMAC-SHA1 with query parameters and a default port', () => {
    const checked = checkOAuth1Request(requestToken, AT, 'request_token');
    assert.ok(oauthSignatureMatches(requestToken, checked, 's3cr3t', undefined));
    assert.ok(!oauthSignatureMatches(requestToken, checked, 'other', undefined));
    const withoutQuery = { ...requestToken, query: [] };
    assert.ok(!oauthSignatureMatches(withoutQuery, checkOAuth1Request(withoutQuery, AT, 'request_token'), 's3cr3t', undefined));
  });
  test('HMAC-SHA1 with a token secret that needs escaping', () => {
    const checked = checkOAuth1Request(accessToken, AT, 'access_token');
    assert.ok(oauthSignatureMatches(accessToken, checked, 's3cr3t', 't&s'));
    assert.ok(!oauthSignatureMatches(accessToken, checked, 's3cr3t', 'ts'));
  });
  test('PLAINTEXT', () => {
    const req: OAuth1Request = {
      method: 'POST',
      uri: 'https://ks.example.com/v3/auth/tokens',
      query: [],
      authorization:
        'OAuth oauth_nonce="999", oauth_timestamp="1700000000", oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="0123456789abcdef0123456789abcdef", oauth_token="fedcba9876543210fedcba9876543210", oauth_signature="s3cr3t%26ts"',
    };
    assert.ok(oauthSignatureMatches(req, checkOAuth1Request(req, AT, 'resource'), 's3cr3t', 'ts'));
  });
  test('base string URI', () => {
    assert.equal(baseStringUri('HTTP://Example.com:80/a b?x=1'), 'http://example.com/a%20b');
    assert.equal(baseStringUri('https://example.com:8443/'), 'https://example.com:8443/');
  });
  test('header parsing decodes values', () => {
    assert.deepEqual(parseOAuthHeader('OAuth realm="r", oauth_signature="a%2Fb%3D"'), [
      ['realm', 'r'],
      ['oauth_signature', 'a/b='],
    ]);
  });
});

describe("oauthlib's request checks", () => {
  const problem = (req: OAuth1Request, kind: 'request_token' | 'access_token', at = AT) => {
    try {
      checkOAuth1Request(req, at, kind);
      return undefined;
    } catch (err) {
      assert.ok(err instanceof OAuth1RequestError);
      return `${err.error}: ${err.message}`;
    }
  };
  test('timestamp window, callback, verifier format', () => {
    assert.equal(problem(requestToken, 'request_token', AT + 601_000), 'invalid_request: Timestamp given is invalid, differ from allowed by over 600 seconds.');
    assert.equal(problem({ ...requestToken, authorization: requestToken.authorization!.replace(', oauth_callback="oob"', '') }, 'request_token'), 'invalid_request: Missing callback URI.');
    assert.equal(problem({ ...accessToken, authorization: accessToken.authorization!.replace('abcdEFGH', 'abcdEFG1') }, 'access_token'), 'invalid_request: Invalid verifier format.');
    assert.equal(problem({ ...accessToken, authorization: 'OAuth oauth_consumer_key="x"' }, 'access_token'), 'invalid_request: Missing mandatory OAuth parameters.');
    assert.equal(problem(requestToken, 'request_token'), undefined);
  });
});
