import { ulid } from '../ids.js';
import type { SettledMessageStatus } from '../model.js';
import type { InboundEvent, InboundReceipt, InboundReply } from '../providers/types.js';
import type { CallbackEvent } from '../callbacks.js';
import type { CountDelta, ReceiptStore } from '../stores/receipts.js';

/**
 * The receipt processor's run over one batch of the receipts queue.
 *
 * Monotonic and idempotent: a message moves `submitted|unknown →
 * delivered|undelivered` once, by a conditional write; a duplicate, a late
 * `sending`, or a receipt for another vendor id changes nothing and counts
 * nothing. Counts are added once per task per batch, with a marker, in one
 * transaction. If a run dies between moving messages and adding their counts,
 * the redelivered receipts find their messages moved by a run without a
 * marker; the messages are re-tagged to the new run (a conditional write, so
 * two recoveries cannot both claim one) and counted by it.
 * A receipt whose message is not recorded yet is retried, then kept as an
 * orphan that the scheduler feeds back every minute: never dropped.
 */
export interface QueuedEvent {
  id: string;
  receiveCount: number;
  event: InboundEvent;
}

export interface ProcessDeps {
  store: ReceiptStore;
  /** Stores a reply (and its opt-out); answers the account it belongs to, if any. */
  reply?: (r: InboundReply, taskId: string | undefined) => Promise<{ accountId?: string; taskId?: string } | void>;
  /** Hands the batch's changes to the customer callbacks queue; a failure retries the batch. */
  notify?: (events: (CallbackEvent & { accountId?: string })[]) => Promise<void>;
  /** Deliveries after which a receipt without its message becomes an orphan. */
  orphanAfter?: number;
  /**
   * How long a run may still be alive (the function's timeout, with margin).
   * A message moved by an uncounted run younger than this may belong to a run
   * that is only slow: its receipt is retried later rather than recounted.
   */
  runMaxMs?: number;
  now?: () => number;
  report?: (e: { kind: 'receipts'; moved: number; duplicates: number; orphaned: number; retried: number; recovered: number; tasks: number }) => void;
}

export async function processReceipts(records: readonly QueuedEvent[], deps: ProcessDeps): Promise<{ failed: string[] }> {
  const run = ulid();
  const now = deps.now ?? Date.now;
  const failed = new Set<string>();
  const deltas = new Map<string, { delta: CountDelta; ids: string[] }>();
  const batchTasks = new Map<string, Promise<string | undefined>>();
  const stats = { moved: 0, duplicates: 0, orphaned: 0, retried: 0, recovered: 0 };
  const notices: { id: string; event: CallbackEvent & { accountId?: string } }[] = [];

  const taskOf = (e: InboundEvent): Promise<string | undefined> => {
    if (e.taskId) return Promise.resolve(e.taskId);
    if (!e.vendorBatchId) return Promise.resolve(undefined);
    const key = `${e.provider}#${e.vendorBatchId}`;
    let p = batchTasks.get(key);
    if (!p) batchTasks.set(key, (p = deps.store.taskForBatch(e.provider, e.vendorBatchId)));
    return p;
  };
  const count = (taskId: string, id: string, provider: InboundReceipt['provider'], from: SettledMessageStatus, to: SettledMessageStatus) => {
    let entry = deltas.get(taskId);
    if (!entry) deltas.set(taskId, (entry = { delta: { counts: {}, byProvider: {} }, ids: [] }));
    const { counts } = entry.delta;
    counts[from] = (counts[from] ?? 0) - 1;
    counts[to] = (counts[to] ?? 0) + 1;
    const p = (entry.delta.byProvider[provider] ??= {});
    p[from] = (p[from] ?? 0) - 1;
    p[to] = (p[to] ?? 0) + 1;
    entry.ids.push(id);
  };

  await Promise.all(
    records.map(async ({ id, receiveCount, event }) => {
      try {
        const taskId = await taskOf(event);
        if (event.type === 'reply') {
          const owner = (await deps.reply?.(event, taskId)) ?? undefined;
          if (owner?.accountId) {
            notices.push({
              id,
              event: { type: 'reply', id: `${event.provider}:${event.phone}:${event.time}`, accountId: owner.accountId, taskId: owner.taskId ?? null, phone: event.phone, content: event.content, provider: event.provider, time: event.time },
            });
          }
          return;
        }
        if (event.status === 'pending') return; // not final: a late `sending` never moves anything
        if (!taskId) return orphanOrRetry(id, receiveCount, event);
        const result = await deps.store.apply(taskId, event, run, now());
        switch (result.kind) {
          case 'moved':
            stats.moved++;
            notices.push({ id, event: receiptNotice(taskId, event, event.status) });
            return count(taskId, id, result.provider ?? event.provider, result.from, event.status);
          case 'missing':
            return orphanOrRetry(id, receiveCount, event);
          case 'mismatch':
            stats.duplicates++;
            return;
          case 'final':
            if (result.rb && result.rb !== run && receiveCount > 1 && result.from && !(await deps.store.hasMarker(taskId, result.rb))) {
              // Moved by a run that has not counted it (its receipt came back). A
              // run may still be finishing: recount only once it surely is dead.
              if (now() - (result.rbAt ?? 0) < (deps.runMaxMs ?? 120_000)) {
                stats.retried++;
                failed.add(id);
                return;
              }
              if (await deps.store.retag(taskId, event.phone, result.rb, run, now())) {
                stats.recovered++;
                notices.push({ id, event: receiptNotice(taskId, event, result.status) });
                return count(taskId, id, result.provider ?? event.provider, result.from, result.status as SettledMessageStatus);
              }
            }
            stats.duplicates++;
            return;
        }
      } catch {
        failed.add(id);
      }
    }),
  );

  if (notices.length > 0 && deps.notify) {
    try {
      await deps.notify(notices.map((n) => n.event));
    } catch {
      // Nothing of this run is counted or acknowledged: the retry recovers its messages and notifies again.
      for (const n of notices) failed.add(n.id);
      for (const { ids } of deltas.values()) for (const i of ids) failed.add(i);
      deltas.clear();
    }
  }

  for (const [taskId, { delta, ids }] of deltas) {
    try {
      await deps.store.addCounts(taskId, run, delta);
    } catch {
      // Their messages carry this run without a marker: the retry recovers them.
      for (const id of ids) failed.add(id);
    }
  }
  deps.report?.({ kind: 'receipts', ...stats, tasks: deltas.size });
  return { failed: [...failed] };

  async function orphanOrRetry(id: string, receiveCount: number, event: InboundReceipt): Promise<void> {
    if (receiveCount < (deps.orphanAfter ?? 3)) {
      stats.retried++;
      failed.add(id);
      return;
    }
    await deps.store.putOrphan(event, id);
    stats.orphaned++;
  }
}

function receiptNotice(taskId: string, r: InboundReceipt, status: string): CallbackEvent {
  return { type: 'receipt', id: `${taskId}:${r.phone}:${status}`, taskId, phone: r.phone, status, code: r.code ?? null, provider: r.provider, time: r.time };
}
