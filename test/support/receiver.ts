import { createServer } from 'node:http';

/** A webhook endpoint that records every push it receives, as a customer's server would see it. */
export interface Received {
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  body: string;
  fields: Record<string, string>;
}

export async function startReceiver(opts: { status?: (attempt: number) => number } = {}): Promise<{ url: string; received: Received[]; attempts: () => number; stop(): Promise<void> }> {
  const received: Received[] = [];
  let attempts = 0;
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
      const status = opts.status?.(++attempts) ?? 200;
      if (status === 200) received.push({ headers: req.headers, contentType, body, fields });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    attempts: () => attempts,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
