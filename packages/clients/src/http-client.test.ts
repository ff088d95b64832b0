// The JSON client over node:http: bodies, error envelopes, deadlines and unreachable servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { AltoError, ServiceUnavailableError } from '@alto/kernel';
import { request } from './http-client.js';

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

test('JSON in and out, headers readable, an error status names the upstream message', async () => {
  const { url, server } = await serve((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/bad') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 404, message: 'Could not find thing x.' } }));
        return;
      }
      res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': 'tok' }).end(JSON.stringify({ echo: JSON.parse(body) as unknown, id: req.headers['x-openstack-request-id'] }));
    });
  });
  try {
    const r = await request<{ echo: unknown; id: string }>(`${url}/x`, { method: 'POST', body: { a: 1 } });
    assert.equal(r.status, 201);
    assert.deepEqual(r.body.echo, { a: 1 });
    assert.match(r.body.id, /^req-/);
    assert.equal(r.headers.get('X-Subject-Token'), 'tok');
    assert.equal(r.headers.get('x-missing'), null);
    await assert.rejects(request(`${url}/bad`), (err: unknown) => err instanceof AltoError && err.kind === 'not_found' && /answered 404: Could not find thing x\./.test(err.message));
  } finally {
    server.close();
  }
});

test('a server that does not answer in time, and one that is not there, are 503s that say so', async () => {
  const { url, server } = await serve(() => {
    // never answers
  });
  try {
    await assert.rejects(request(`${url}/slow`, { timeoutMs: 200 }), (err: unknown) => err instanceof ServiceUnavailableError && /no answer within 200 ms/.test(err.message));
  } finally {
    server.closeAllConnections();
    server.close();
  }
  await assert.rejects(request(`${url}/gone`), (err: unknown) => err instanceof ServiceUnavailableError && /ECONNREFUSED/.test(err.message));
});
