import { createServer } from 'node:http';

/** A webhook endpoint that records every push it receives, as a customer's server would see it. */
export interface Received {
  contentType: string;
  body: string;
  fields: Record<string, string>;
}

export async function startReceiver(): Promise<{ url: string; received: Received[]; stop(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      const contentType = req.headers['content-type'] ?? '';
      const fields: Record<string, string> = {};
      if (contentType.includes('json')) {
        for (const [k, v] of Object.entries(JSON.parse(body) as Record<string, unknown>)) fields[k] = String(v);
      } else {
        for (const [k, v] of new URLSearchParams(body)) fields[k] = v;
      }
      received.push({ contentType, body, fields });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
