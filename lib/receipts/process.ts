import { ulid } from '../ids.js';
import type { SettledMessageStatus } from '../model.js';
import type { InboundEvent, InboundReceipt, InboundReply } from '../providers/types.js';
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
  /** Stores a reply; replies are the next piece of work (opt-outs, listing). */
  reply?: (r: InboundReply, taskId: string | undefined) => Promise<void>;
  /** Deliveries after which a receipt without its message becomes an orphan. */
  orphanAfter?: number;
  report?: (e: { kind: 'receipts'; moved: number; duplicates: number; orphaned: number; retried: number; recovered: number; tasks: number }) => void;
}

export async function processReceipts(records: readonly QueuedEvent[], deps: ProcessDeps): Promise<{ failed: string[] }> {
  const run = ulid();
  const failed = new Set<string>();
  const deltas = new Map<string, { delta: CountDelta; ids: string[] }>();
  const batchTasks = new Map<string, Promise<string | undefined>>();
  const stats = { moved: 0, duplicates: 0, orphaned: 0, retried: 0, recovered: 0 };

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
          await deps.reply?.(event, taskId);
          return;
        }
        if (event.status === 'pending') return; // not final: a late `sending` never moves anything
        if (!taskId) return orphanOrRetry(id, receiveCount, event);
        const result = await deps.store.apply(taskId, event, run);
        switch (result.kind) {
          case 'moved':
            stats.moved++;
            return count(taskId, id, result.provider ?? event.provider, result.from, event.status);
          case 'missing':
            return orphanOrRetry(id, receiveCount, event);
          case 'mismatch':
            stats.duplicates++;
            return;
          case 'final':
            if (result.rb && result.rb !== run && receiveCount > 1 && result.from && !(await deps.store.hasMarker(taskId, result.rb))) {
              // Moved by a run that died before counting it (its receipt came back).
              if (await deps.store.retag(taskId, event.phone, result.rb, run)) {
                stats.recovered++;
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
