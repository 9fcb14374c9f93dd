import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * What every provider simulator shares: an HTTP server on loopback, request
 * and recipient counters that prove "sent once" (a recipient received twice
 * with the same content is counted in `duplicateRecipients`), a point balance
 * that sends spend, receipt and reply pushes to a webhook URL with delay,
 * loss, duplication and reordering, and injectable faults, all driven over
 * HTTP so tests, the benchmark and `npm start` users can reach them:
 *   GET  /__sim/stats             counters and balance
 *   POST /__sim/faults            {"mode":"error"|"http500"|"delay"|"timeout"|"reset","count":1,"code":"903","ms":500}
 *   DELETE /__sim/faults          clear faults
 *   POST /__sim/reset             clear counters and faults
 *   POST /__sim/balance           {"points":1000}
 *   POST /__sim/push              {"url":"http://…","delayMs":500,"loss":0,"duplicate":0,"reorder":false,"undelivered":0}
 *   POST /__sim/replies           {"phone":"138…","content":"TD"}: the handset answers
 */
const PUSH_CONCURRENCY = 16;

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

export interface PushConfig {
  /** Webhook URL; no pushes without one. */
  url?: string;
  delayMs?: number;
  /** Probability that a push is never made. */
  loss?: number;
  /** Probability that a push is made twice. */
  duplicate?: number;
  /** Deliver each flushed batch in random order. */
  reorder?: boolean;
  /** Probability that an accepted message ends undelivered rather than delivered. */
  undelivered?: number;
}

/** One HTTP push as the vendor would make it. */
export interface Push {
  contentType: string;
  body: string;
}

/** An accepted message waiting for its carrier outcome. */
export interface Accepted {
  phone: string;
  messageId: string;
  /** Anything the vendor's receipt format needs (tag, batch id, template id…). */
  extra?: Record<string, string>;
}

export interface SimStats {
  balance: number;
  pushes: number;
  pushesLost: number;
  pushesDuplicated: number;
  pushFailures: number;
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
  /** Records recipients as sent, counting any received before with the same content. */
  recordSend(phones: readonly string[], content: string): void;
  /** Spends points if the balance allows; false (nothing spent) otherwise. */
  charge(points: number): boolean;
  balance(): number;
  /** Schedules carrier outcomes and their receipt pushes. */
  deliver(messages: readonly Accepted[]): void;
  /** Queues a push that is already decided (a failed receipt for a dropped number). */
  push(p: Push): void;
  /** The fault for this request if it is a vendor error; the simulator renders it in the vendor's shape. */
  errorFault: Fault | undefined;
}

export type SimRoute = (req: SimRequest, ctx: SimContext) => Promise<SimResponse | undefined>;

/** How a vendor renders pushes: a receipt for an outcome, and a handset's reply. */
export interface PushFormat {
  receipt(m: Accepted, delivered: boolean, at: Date): Push;
  reply(phone: string, content: string, at: Date): Push;
}

export interface SimulatorOptions {
  port?: number;
  balance?: number;
  push?: PushConfig;
  /** Seed for loss/duplication/reordering, so a test run is repeatable. */
  seed?: number;
}

export interface Simulator {
  url: string;
  port: number;
  stats(): SimStats;
  setFault(f: Fault): void;
  /** The last text this vendor accepted for a number: what the handset would show. */
  lastText(phone: string): string | undefined;
  setPush(p: PushConfig): void;
  setBalance(points: number): void;
  /** A handset replies to the vendor's number. */
  reply(phone: string, content: string): void;
  /** Resolves when every scheduled push has been made. */
  drainPushes(): Promise<void>;
  reset(): void;
  stop(): Promise<void>;
}

/** `onReset` clears the vendor's own state (dedupe windows, rate limits) with the counters. */
export async function startSimulator(route: SimRoute, format: PushFormat, opts: SimulatorOptions = {}, onReset?: () => void): Promise<Simulator> {
  const initialBalance = opts.balance ?? 1_000_000_000;
  let balance = initialBalance;
  let stats: SimStats = emptyStats(balance);
  let seen = new Map<string, Set<string>>();
  const lastTexts = new Map<string, string>();
  let faults: Fault[] = [];
  let pushConfig: PushConfig = { delayMs: 500, ...opts.push };
  const random = mulberry32(opts.seed ?? 0x5eed);
  const hanging = new Set<ServerResponse>();
  const inFlight = new Set<Promise<void>>();
  let timers = new Set<NodeJS.Timeout>();

  const sendPush = async (p: Push) => {
    const url = pushConfig.url;
    if (!url) return;
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': p.contentType }, body: p.body, signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      stats.pushes++;
      if (!res.ok) stats.pushFailures++;
    } catch {
      stats.pushFailures++;
    }
  };
  /** Applies loss, duplication and reordering to a batch, after the delay. */
  const schedule = (pushes: Push[]) => {
    if (!pushConfig.url || pushes.length === 0) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const out: Push[] = [];
      for (const p of pushes) {
        if (random() < (pushConfig.loss ?? 0)) {
          stats.pushesLost++;
          continue;
        }
        out.push(p);
        if (random() < (pushConfig.duplicate ?? 0)) {
          stats.pushesDuplicated++;
          out.push(p);
        }
      }
      if (pushConfig.reorder) shuffle(out, random);
      const done = (async () => {
        // Vendors push from many workers at once.
        let next = 0;
        await Promise.all(
          Array.from({ length: Math.min(PUSH_CONCURRENCY, out.length) }, async () => {
            while (next < out.length) await sendPush(out[next++] as Push);
          }),
        );
      })();
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
    }, pushConfig.delayMs ?? 500);
    timers.add(timer);
  };

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
        charge(points) {
          if (points > balance) return false;
          balance -= points;
          return true;
        },
        balance: () => balance,
        deliver(messages) {
          const at = new Date();
          schedule(messages.map((m) => format.receipt(m, !(random() < (pushConfig.undelivered ?? 0)), at)));
        },
        push: (p) => schedule([p]),
        recordSend(phones, content) {
          let set = seen.get(content);
          if (!set) seen.set(content, (set = new Set()));
          for (const p of phones) {
            lastTexts.set(p, content);
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

  const reset = () => {
    for (const t of timers) clearTimeout(t);
    timers = new Set();
    balance = initialBalance;
    stats = emptyStats(balance);
    seen = new Map();
    lastTexts.clear();
    faults = [];
    onReset?.();
  };
  const reply = (phone: string, content: string) => schedule([format.reply(phone, content, new Date())]);

  const control = async (path: string, req: IncomingMessage, res: ServerResponse) => {
    if (path === '/__sim/stats') return send(res, 200, JSON.stringify({ ...stats, balance }));
    if (path === '/__sim/reset') {
      reset();
      return send(res, 200, '{}');
    }
    if (path === '/__sim/balance') {
      balance = Number((JSON.parse((await readBody(req)) || '{}') as { points?: number }).points ?? balance);
      return send(res, 200, JSON.stringify({ balance }));
    }
    if (path === '/__sim/push') {
      pushConfig = { ...pushConfig, ...(JSON.parse((await readBody(req)) || '{}') as PushConfig) };
      return send(res, 200, JSON.stringify(pushConfig));
    }
    if (path === '/__sim/replies') {
      const r = JSON.parse((await readBody(req)) || '{}') as { phone?: string; content?: string };
      reply(r.phone ?? '', r.content ?? '');
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

  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    stats: () => ({ ...stats, balance }),
    setFault: (f) => void faults.push({ ...f }),
    lastText: (phone) => lastTexts.get(phone),
    setPush: (p) => void (pushConfig = { ...pushConfig, ...p }),
    setBalance: (points) => void (balance = points),
    reply,
    async drainPushes() {
      while (timers.size > 0 || inFlight.size > 0) await new Promise((r) => setTimeout(r, 20));
    },
    reset,
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const emptyStats = (balance: number): SimStats => ({
  balance,
  pushes: 0,
  pushesLost: 0,
  pushesDuplicated: 0,
  pushFailures: 0,
  requests: 0,
  processedRequests: 0,
  recipients: 0,
  duplicateRecipients: 0,
  rejectedRequests: 0,
});

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(xs: T[], random: () => number): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
}

/** Random token of the vendor's length (SUBHOOK 32, SMSHook 50). */
export function randomToken(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}

export const form = (fields: Record<string, string>): Push => ({
  contentType: 'application/x-www-form-urlencoded;charset=utf-8',
  body: new URLSearchParams(fields).toString(),
});

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
