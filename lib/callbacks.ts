import { createHmac } from 'node:crypto';
import type { Account, Task } from './model.js';
import { vendorPush, type PushVendor } from './compat/pushes.js';
import type { AccountStore } from './stores/accounts.js';
import type { TaskStore } from './stores/tasks.js';

/**
 * Callbacks out to the customer: every receipt and reply, POSTed as JSON to
 * the task's `callbackUrl` or else the account's, several events per POST,
 * signed so the customer can verify it:
 *   X-Qunfa-Timestamp: <unix ms>
 *   X-Qunfa-Signature: hex(HMAC-SHA256(callbackSecret, timestamp + "." + body))
 * Delivery is at least once (an event can come twice after a retry): `id` is
 * stable per event, for the customer to de-duplicate.
 */
export type CallbackEvent =
  | { type: 'receipt'; id: string; taskId: string; phone: string; status: string; code: string | null; provider: string; time: string }
  | { type: 'reply'; id: string; taskId: string | null; phone: string; content: string; provider: string; time: string };

/** One queued POST: the account (for its secret, read at send time) and where to. */
export interface CallbackBatch {
  accountId: string;
  url: string;
  events: CallbackEvent[];
  /** Set for a compat task whose account asked for the vendor's own push format. */
  format?: PushVendor;
}

/** Events per POST, well inside SQS's 256 KB per message. */
const MAX_EVENTS = 200;

/** Groups events by destination; events of accounts and tasks without a callback URL are dropped here. */
export async function planCallbacks(
  events: readonly (CallbackEvent & { accountId?: string })[],
  deps: { tasks: Pick<TaskStore, 'get'>; accounts: Pick<AccountStore, 'get'> },
): Promise<CallbackBatch[]> {
  const taskCache = new Map<string, Promise<Pick<Task, 'accountId' | 'callbackUrl' | 'compat'> | undefined>>();
  const accountCache = new Map<string, Promise<Account | undefined>>();
  const cached = <T>(m: Map<string, Promise<T>>, k: string, f: () => Promise<T>) => {
    let p = m.get(k);
    if (!p) m.set(k, (p = f()));
    return p;
  };
  const byDestination = new Map<string, CallbackBatch>();
  for (const e of events) {
    const task = e.taskId ? await cached(taskCache, e.taskId, () => deps.tasks.get(e.taskId as string)) : undefined;
    const accountId = task?.accountId ?? e.accountId;
    if (!accountId) continue;
    const account = await cached(accountCache, accountId, () => deps.accounts.get(accountId));
    const url = task?.callbackUrl ?? account?.callbackUrl;
    if (!url) continue;
    const format = account?.vendorPushes && task?.compat ? task.compat.vendor : undefined;
    const key = `${accountId} ${url} ${format ?? ''}`;
    let batch = byDestination.get(key);
    if (!batch || batch.events.length >= MAX_EVENTS) byDestination.set(key, (batch = { accountId, url, events: [], ...(format ? { format } : {}) }));
    const { accountId: _a, ...event } = e as CallbackEvent & { accountId?: string };
    batch.events.push(event as CallbackEvent);
  }
  return [...new Set(byDestination.values())];
}

export function signCallback(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/** POSTs one batch; throws on a non-2xx answer or no answer, so the queue retries it. */
export async function deliverCallback(batch: CallbackBatch, deps: { accounts: Pick<AccountStore, 'get'>; timeoutMs?: number }): Promise<void> {
  const account = await deps.accounts.get(batch.accountId);
  if (batch.format) {
    if (!account?.compatKey) throw new Error(`account ${batch.accountId} has no compat key`);
    // One POST per event, as the vendor pushes; a failure retries the batch (at least once).
    for (const e of batch.events) {
      const push = vendorPush(batch.format, e, { accountId: account.accountId, compatKey: account.compatKey });
      const res = await fetch(batch.url, { method: 'POST', headers: { 'content-type': push.contentType, 'user-agent': 'qunfa-callbacks' }, body: push.body, signal: AbortSignal.timeout(deps.timeoutMs ?? 5_000) });
      await res.arrayBuffer();
      if (res.status < 200 || res.status >= 300) throw new Error(`callback to ${new URL(batch.url).host} answered HTTP ${res.status}`);
    }
    return;
  }
  if (!account?.callbackSecret) throw new Error(`account ${batch.accountId} has no callback secret`);
  const body = JSON.stringify({ events: batch.events });
  const timestamp = String(Date.now());
  const res = await fetch(batch.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'x-qunfa-timestamp': timestamp,
      'x-qunfa-signature': signCallback(account.callbackSecret, timestamp, body),
      'user-agent': 'qunfa-callbacks',
    },
    body,
    signal: AbortSignal.timeout(deps.timeoutMs ?? 5_000),
  });
  await res.arrayBuffer();
  if (res.status < 200 || res.status >= 300) throw new Error(`callback to ${new URL(batch.url).host} answered HTTP ${res.status}`);
}
