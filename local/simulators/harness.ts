import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * What every provider simulator shares: an HTTP server on loopback, request
 * and recipient counters that prove "sent once" (a recipient received twice
 * with the same content is counted in `duplicateRecipients`), and injectable
 * faults, driven over HTTP so tests, the benchmark and `npm start` users can
 * all reach them:
 *   GET  /__sim/stats             counters
 *   POST /__sim/faults            {"mode":"error"|"http500"|"delay"|"timeout"|"reset","count":1,"code":"903","ms":500}
 *   DELETE /__sim/faults          clear faults
 *   POST /__sim/reset             clear counters and faults
 */
export type FaultMode = 'error' | 'http500' | 'delay' | 'timeout' | 'reset';
export interface Fault {
  mode: FaultMode;
  /** Requests it applies to; -1 for every request until cleared. */
  count?: number;
  /** Vendor error code for `error`. */
  code?: string;
  /** Delay for `delay`. */
  ms?: number;
}

export interface SimStats {
  requests: number;
  /** Requests that reached the vendor logic (after faults that drop them unprocessed). */
  processedRequests: number;
  recipients: number;
  duplicateRecipients: number;
  rejectedRequests: number;
}

export interface SimRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  params: Record<string, string>;
}
export interface SimResponse {
  status: number;
  body: unknown;
}

export interface SimContext {
  /** Records recipients as sent; returns how many of them were duplicates. */
  recordSend(phones: readonly string[], content: string): void;
  /** The fault for this request if it is a vendor error; the simulator renders it in the vendor's shape. */
  errorFault: Fault | undefined;
}

export type SimRoute = (req: SimRequest, ctx: SimContext) => Promise<SimResponse | undefined>;

export interface Simulator {
  url: string;
  port: number;
  stats(): SimStats;
  setFault(f: Fault): void;
  reset(): void;
  stop(): Promise<void>;
}

export async function startSimulator(route: SimRoute, port = 0): Promise<Simulator> {
  let stats: SimStats = emptyStats();
  let seen = new Map<string, Set<string>>();
  let faults: Fault[] = [];
  const hanging = new Set<ServerResponse>();

  const takeFault = (): Fault | undefined => {
    const f = faults[0];
    if (!f) return undefined;
    if (f.count !== -1) {
      f.count = (f.count ?? 1) - 1;
      if (f.count <= 0) faults.shift();
    }
    return f;
  };

  const server: Server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path.startsWith('/__sim/')) return control(path, req, res);
      stats.requests++;
      const fault = takeFault();
      if (fault?.mode === 'reset') {
        await readBody(req);
        req.socket.destroy();
        return;
      }
      if (fault?.mode === 'http500') {
        await readBody(req);
        return send(res, 502, '<html>Bad Gateway</html>', 'text/html');
      }
      if (fault?.mode === 'delay') await new Promise((r) => setTimeout(r, fault.ms ?? 1000));
      const params = await parseParams(req);
      const ctx: SimContext = {
        errorFault: fault?.mode === 'error' ? fault : undefined,
        recordSend(phones, content) {
          let set = seen.get(content);
          if (!set) seen.set(content, (set = new Set()));
          for (const p of phones) {
            stats.recipients++;
            if (set.has(p)) stats.duplicateRecipients++;
            else set.add(p);
          }
        },
      };
      stats.processedRequests++;
      const out = await route({ method: req.method ?? 'GET', path, contentType: req.headers['content-type'], params }, ctx);
      if (!out) return send(res, 404, JSON.stringify({ status: 'error', msg: 'not found' }));
      const body = out.body as { status?: string; result?: boolean; returnStatus?: string };
      if (body?.status === 'error' || body?.result === false) stats.rejectedRequests++;
      if (fault?.mode === 'timeout') {
        // Processed, never answered: the caller cannot know it was sent.
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      send(res, out.status, JSON.stringify(out.body));
    } catch (e) {
      send(res, 500, JSON.stringify({ status: 'error', msg: (e as Error).message }));
    }
  });

  const control = async (path: string, req: IncomingMessage, res: ServerResponse) => {
    if (path === '/__sim/stats') return send(res, 200, JSON.stringify(stats));
    if (path === '/__sim/reset') {
      stats = emptyStats();
      seen = new Map();
      faults = [];
      return send(res, 200, '{}');
    }
    if (path === '/__sim/faults' && req.method === 'DELETE') {
      faults = [];
      return send(res, 200, '{}');
    }
    if (path === '/__sim/faults') {
      faults.push(JSON.parse((await readBody(req)) || '{}') as Fault);
      return send(res, 200, JSON.stringify({ faults }));
    }
    send(res, 404, '{}');
  };

  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    stats: () => ({ ...stats }),
    setFault: (f) => void faults.push({ ...f }),
    reset() {
      stats = emptyStats();
      seen = new Map();
      faults = [];
    },
    async stop() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const emptyStats = (): SimStats => ({ requests: 0, processedRequests: 0, recipients: 0, duplicateRecipients: 0, rejectedRequests: 0 });

function send(res: ServerResponse, status: number, body: string, type = 'application/json; charset=utf-8') {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** Query string plus a form, urlencoded, multipart or JSON body (JSON values become strings). */
async function parseParams(req: IncomingMessage): Promise<Record<string, string>> {
  const params: Record<string, string> = {};
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  for (const [k, v] of query) params[k] = v;
  const raw = await readBody(req);
  if (!raw) return params;
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (type.includes('application/json')) {
    const obj = JSON.parse(raw) as Record<string, unknown>;
    for (const [k, v] of Object.entries(obj)) params[k] = typeof v === 'string' ? v : JSON.stringify(v);
  } else if (type.includes('multipart/form-data') || type.includes('application/x-www-form-urlencoded')) {
    const form = await new Response(raw, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    for (const [k, v] of form) params[k] = typeof v === 'string' ? v : '';
  }
  return params;
}
