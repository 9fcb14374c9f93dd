import { createServer } from 'node:http';
import { apiEvent, call } from './fixtures.js';

/**
 * An HTTP front for the receipt-webhook handler, so the simulators push over
 * real HTTP into the same handler API Gateway would call.
 */
export async function startHookServer(handler: unknown): Promise<{ base: string; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', async () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const [, , , provider = '', secret] = path.split('/'); // /v1/hooks/<provider>/<secret?>
      const event = apiEvent({
        method: 'POST',
        path,
        body: Buffer.concat(parts).toString('utf8'),
        contentType: req.headers['content-type'] ?? '',
        pathParameters: { provider, ...(secret ? { secret } : {}) },
      });
      const out = await call(handler, event).catch(() => ({ status: 500, body: {} }));
      res.writeHead(out.status, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { base: `http://127.0.0.1:${port}`, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
