import { ulid } from '../ids.js';
import type { Chunk, Message, SettledMessageStatus, StatusCounts, Task } from '../model.js';
import type { Provider, ProviderName, SendOutcome, SendRequest } from '../providers/types.js';
import type { MessageStore } from '../stores/messages.js';
import type { ChunkSettlement, TaskStore } from '../stores/tasks.js';
import type { ReceiptStore } from '../stores/receipts.js';
import { chunkRefundEntry, type LedgerStore } from '../stores/ledger.js';
import type { LimitStore } from '../stores/limits.js';
import type { SuppressionStore } from '../stores/replies.js';
import { chinaDay } from '../time.js';
import { toAtVars } from '../templates.js';

/**
 * Dispatch of one chunk: queued → sending → sent | rejected | unknown.
 *
 * The claim (a conditional write) is what makes a chunk go to a provider at
 * most once: a redelivered or concurrent copy of the queue message finds the
 * chunk no longer `queued` and never calls the provider. A chunk left in
 * `sending` by a crashed dispatcher is never resent (SUBMAIL has no idempotency
 * key): once its lease expires, recipients whose result was recorded keep it
 * and the rest become `unknown` (DESIGN.md invariant 1).
 *
 * Before sending, recipients over a per-number limit (and, for a scheduled
 * task, numbers that opted out since it was accepted) are held back as
 * `rejected`. Rejected and canceled recipients are refunded in the same
 * transaction that settles their chunk, so a refund is made exactly once.
 */
export interface ChunkRef {
  taskId: string;
  chunkNo: number;
}

/** Points where tests inject a crash, in the order dispatch passes them. */
export type CrashPoint = 'after-claim' | 'after-send' | 'after-messages';

export interface DispatchDeps {
  tasks: TaskStore;
  messages: MessageStore;
  provider(name: ProviderName): Promise<Provider>;
  receipts?: Pick<ReceiptStore, 'putBatch'>;
  ledger: Pick<LedgerStore, 'items'>;
  limits: Pick<LimitStore, 'takeNumbers'>;
  suppressions: Pick<SuppressionStore, 'all'>;
  /** How long a provider drops a repeated idempotency key; 0 when it does not. */
  dedupeWindowMs?(name: ProviderName): number;
  leaseMs: number;
  now?: () => number;
  crash?: (point: CrashPoint) => void;
  /** Where logs and metrics hear about outcomes. */
  report?: (event: DispatchEvent) => void;
}

export type DispatchEvent =
  | { kind: 'settled'; taskId: string; accountId: string; chunkNo: number; provider: ProviderName; status: ChunkSettlement['status']; counts: Partial<StatusCounts> }
  | { kind: 'recovered'; taskId: string; accountId: string; chunkNo: number; unknown: number }
  | { kind: 'lost-lease'; taskId: string; accountId: string; chunkNo: number }
  | { kind: 'failover'; taskId: string; accountId: string; chunkNo: number; provider: ProviderName; code: string }
  | { kind: 'resent'; taskId: string; accountId: string; chunkNo: number; provider: ProviderName };

/** Another dispatcher holds a live lease: retry this queue message later. */
export class ChunkBusyError extends Error {
  constructor(ref: ChunkRef) {
    super(`chunk ${ref.taskId}/${ref.chunkNo} is being sent by another dispatcher`);
    this.name = 'ChunkBusyError';
  }
}

export type DispatchResult = 'sent' | 'rejected' | 'unknown' | 'canceled' | 'recovered' | 'already-settled' | 'lost-lease';

export async function dispatchChunk(ref: ChunkRef, deps: DispatchDeps): Promise<DispatchResult> {
  const now = deps.now ?? Date.now;
  const dedupeWindow = deps.dedupeWindowMs ?? (() => 0);
  const task = await deps.tasks.get(ref.taskId);
  if (!task) throw new Error(`task ${ref.taskId} does not exist`);
  const providerName = task.route[0];
  if (!providerName) throw new Error(`task ${ref.taskId} has an empty route`);

  let attempt = ulid();
  const claim = await deps.tasks.claimChunk(ref.taskId, ref.chunkNo, attempt, providerName, deps.leaseMs, now());
  let chunk: Chunk;
  let from = 0;
  if (claim.claimed) {
    chunk = claim.chunk;
    if (task.status === 'canceled') {
      // A canceled task sends no further chunk; its recipients end `canceled`.
      const settled = await settle(task, chunk, attempt, { status: 'canceled', counts: { canceled: chunk.phones.length } }, chunk.phones, iso(now()), deps);
      return settled ? 'canceled' : 'lost-lease';
    }
  } else {
    const found = claim.chunk;
    if (!found) throw new Error(`chunk ${ref.taskId}/${ref.chunkNo} does not exist`);
    if (found.status !== 'sending') {
      await deps.tasks.finishIfDone(ref.taskId, iso(now()));
      return 'already-settled';
    }
    if ((found.leaseUntil ?? 0) > now()) throw new ChunkBusyError(ref);
    const provider = found.provider ?? providerName;
    // A vendor that drops a repeated idempotency key lets us ask again and
    // learn the real outcome; any other vendor's recipients become unknown.
    const canResend = now() - (found.providerSince ?? 0) < dedupeWindow(provider) - deps.leaseMs;
    const takenOver = canResend && (await deps.tasks.takeOver(ref.taskId, ref.chunkNo, found.attempt ?? '', attempt, now() + deps.leaseMs));
    if (!takenOver) {
      await recoverAbandoned(task, found, provider, deps);
      await deps.tasks.finishIfDone(ref.taskId, iso(now()));
      return 'recovered';
    }
    deps.report?.({ kind: 'resent', taskId: task.taskId, accountId: task.accountId, chunkNo: found.chunkNo, provider });
    chunk = found;
    from = Math.max(0, task.route.indexOf(provider));
  }
  deps.crash?.('after-claim');

  const held = await holdBack(task, chunk, now(), deps);
  const toSend = held.size > 0 ? chunk.phones.filter((p) => !held.has(p)) : chunk.phones;

  // Route order is failover order. Only a definitive rejection of the whole
  // request moves on: nothing was sent (DESIGN.md invariant 4).
  let used: ProviderName = task.route[from] ?? providerName;
  let outcome: SendOutcome | undefined;
  const refusals: string[] = [];
  for (let i = from; i < task.route.length && toSend.length > 0; i++) {
    const name = task.route[i] as ProviderName;
    if (i > from && !(await deps.tasks.switchProvider(task.taskId, chunk.chunkNo, attempt, name, now(), deps.leaseMs))) {
      return 'lost-lease';
    }
    used = name;
    const provider = await deps.provider(name);
    outcome = await provider.send(sendRequestFor(task, chunk, toSend, name));
    deps.crash?.('after-send');
    if (outcome.kind !== 'rejected') break;
    refusals.push(`${name}: ${outcome.code}`);
    if (i + 1 < task.route.length) {
      deps.report?.({ kind: 'failover', taskId: task.taskId, accountId: task.accountId, chunkNo: chunk.chunkNo, provider: name, code: outcome.code });
    }
  }
  if (outcome?.kind === 'rejected' && refusals.length > 1) outcome = { ...outcome, message: `every provider refused (${refusals.join('; ')}): ${outcome.message}` };

  const submitTime = iso(now());
  const base = { taskId: task.taskId, chunkNo: chunk.chunkNo, provider: used, submitTime };
  const messages: Message[] = [...held].map(([phone, h]) => ({ ...base, phone, status: 'rejected' as const, code: h.code, detail: h.detail }));
  if (outcome) messages.push(...messagesFor(base, toSend, outcome));
  // Receipts that name a vendor batch (10658's taskid) find their task through this.
  if (outcome?.kind === 'answered' && outcome.batchId) await deps.receipts?.putBatch(used, outcome.batchId, task.taskId);
  await deps.messages.putAll(messages);
  deps.crash?.('after-messages');

  const settlement = settlementFor(messages, used, outcome);
  const rejected = messages.filter((m) => m.status === 'rejected').map((m) => m.phone);
  const settled = await settle(task, chunk, attempt, settlement, rejected, iso(now()), deps);
  if (!settled) {
    // Our lease ran out while the provider was answering and a recovery run
    // settled the chunk as unknown. Nothing was sent twice; say so loudly.
    deps.report?.({ kind: 'lost-lease', taskId: task.taskId, accountId: task.accountId, chunkNo: chunk.chunkNo });
    return 'lost-lease';
  }
  await deps.tasks.finishIfDone(task.taskId, iso(now()));
  deps.report?.({
    kind: 'settled',
    taskId: task.taskId,
    accountId: task.accountId,
    chunkNo: chunk.chunkNo,
    provider: used,
    status: settlement.status,
    counts: settlement.counts,
  });
  return settlement.status;
}

interface Held {
  code: string;
  detail: string;
}

/** Recipients of the chunk that must not be sent now, and why. */
async function holdBack(task: Task, chunk: Chunk, nowMs: number, deps: DispatchDeps): Promise<Map<string, Held>> {
  const held = new Map<string, Held>();
  const per = task.template?.perRecipient;
  if (per && chunk.vars) {
    for (const p of chunk.phones) {
      const missing = per.variables.filter((v) => chunk.vars?.[p]?.[v] === undefined);
      if (missing.length > 0) held.set(p, { code: 'TEMPLATE_VARS_MISSING', detail: `the member has no value for ${missing.join(', ')}` });
    }
  }
  if (task.sendAt) {
    // Submission removed the numbers suppressed then; a scheduled task may wait days.
    const suppressed = await deps.suppressions.all(task.accountId);
    for (const p of chunk.phones) {
      if (suppressed.has(p)) held.set(p, { code: 'SUPPRESSED', detail: 'the number opted out of this account after the task was accepted' });
    }
  }
  const limits = task.numberLimits;
  if (limits && (limits.perNumberDaily > 0 || limits.perNumberIntervalSeconds > 0)) {
    const at = new Date(nowMs);
    const candidates = held.size > 0 ? chunk.phones.filter((p) => !held.has(p)) : chunk.phones;
    const refused = await deps.limits.takeNumbers(task.accountId, task.taskId, candidates, limits, at, chinaDay(at));
    for (const [phone, why] of refused) {
      held.set(phone, {
        code: 'RATE_LIMITED_NUMBER',
        detail:
          why === 'daily'
            ? `the number has had ${limits.perNumberDaily} messages from this account today (该号码今日发送次数已达上限)`
            : `the number had a message from this account less than ${limits.perNumberIntervalSeconds} s ago (相同手机号码一分钟之内只可发送一次)`,
      });
    }
  }
  return held;
}

/**
 * Settles the chunk; its rejected and canceled recipients (`refundedPhones`)
 * are refunded in the same transaction, each at the segments its text cost.
 */
function settle(task: Task, chunk: Chunk, attempt: string, s: ChunkSettlement, refundedPhones: readonly string[], at: string, deps: DispatchDeps): Promise<boolean> {
  const chunkNo = chunk.chunkNo;
  const refunded = refundedPhones.length;
  const points = refundedPhones.reduce((n, p) => n + (chunk.segs?.[p] ?? task.segments), 0);
  const commit =
    refunded > 0
      ? deps.ledger.items({
          accountId: task.accountId,
          kind: 'refund',
          entry: chunkRefundEntry(task.taskId, chunkNo),
          points,
          messages: refunded,
          ...(task.usageDay ? { usageDay: task.usageDay } : {}),
          taskId: task.taskId,
          note: `${refunded} recipients ${s.status === 'canceled' ? 'canceled' : 'rejected'}`,
          time: at,
        })
      : [];
  return deps.tasks.settleChunk(task.taskId, chunkNo, attempt, s, at, commit);
}

function sendRequestFor(task: Task, chunk: Chunk, phones: string[], provider: ProviderName): SendRequest {
  const vendorTemplateId = task.template?.vendorTemplateIds[provider];
  const per = task.template?.perRecipient;
  const chunkNo = chunk.chunkNo;
  return {
    phones,
    ...(per && chunk.vars ? { perRecipient: { text: toAtVars(per.text), vars: Object.fromEntries(phones.map((p) => [p, chunk.vars?.[p] ?? {}])) } } : {}),
    content: task.content,
    ...(task.template ? { template: { vars: task.template.vars, ...(vendorTemplateId ? { vendorTemplateId } : {}) } } : {}),
    tag: task.taskId,
    // Deterministic per task and chunk: a vendor that deduplicates on it (SendCloud
    // sendRequestId) drops a resend of the same chunk.
    idempotencyKey: `${task.taskId}-${chunkNo}`,
  };
}

function messagesFor(base: Pick<Message, 'taskId' | 'chunkNo' | 'provider' | 'submitTime'>, phones: readonly string[], outcome: SendOutcome): Message[] {
  if (outcome.kind === 'answered') {
    return outcome.results.map((r) =>
      r.accepted
        ? { ...base, phone: r.phone, status: 'submitted' as const, providerMessageId: r.providerMessageId }
        : { ...base, phone: r.phone, status: 'rejected' as const, code: r.code, detail: r.message },
    );
  }
  const status = outcome.kind === 'rejected' ? ('rejected' as const) : ('unknown' as const);
  return phones.map((phone) => ({ ...base, phone, status, code: outcome.code, detail: outcome.message }));
}

/** `outcome` is absent when every recipient was held back and no provider was asked. */
function settlementFor(messages: readonly Message[], provider: ProviderName, outcome: SendOutcome | undefined): ChunkSettlement {
  const counts = countByStatus(messages.map((m) => m.status));
  const status = outcome?.kind === 'unknown' ? 'unknown' : (counts.submitted ?? 0) > 0 ? 'sent' : 'rejected';
  const code = outcome ? (outcome.kind !== 'answered' ? outcome.code : undefined) : messages[0]?.code;
  return { status, provider, counts, ...(code ? { code } : {}) };
}

/**
 * A dispatcher died holding this chunk. Messages are written only after the
 * provider answered, so a recorded message is a known result; an absent one
 * may or may not have been sent and becomes `unknown`.
 */
async function recoverAbandoned(task: Task, chunk: Chunk, provider: ProviderName, deps: DispatchDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  const found = await deps.messages.getMany(task.taskId, chunk.phones);
  const known = new Set(found.map((m) => m.phone));
  const submitTime = iso(now());
  const missing: Message[] = chunk.phones
    .filter((p) => !known.has(p))
    .map((phone) => ({
      taskId: task.taskId,
      phone,
      chunkNo: chunk.chunkNo,
      provider,
      status: 'unknown',
      code: 'DISPATCH_INTERRUPTED',
      detail: 'the dispatcher stopped after claiming this chunk; it may have been sent and is not resent',
      submitTime,
    }));
  await deps.messages.putAll(missing);
  const counts = countByStatus([...found.map((m) => m.status), ...missing.map((m) => m.status)]);
  const status = missing.length > 0 ? 'unknown' : (counts.submitted ?? 0) > 0 ? 'sent' : 'rejected';
  const rejected = found.filter((m) => m.status === 'rejected').map((m) => m.phone);
  await settle(task, chunk, chunk.attempt ?? '', { status, provider, counts, code: 'DISPATCH_INTERRUPTED' }, rejected, submitTime, deps);
  deps.report?.({ kind: 'recovered', taskId: task.taskId, accountId: task.accountId, chunkNo: chunk.chunkNo, unknown: missing.length });
}

function countByStatus(statuses: readonly SettledMessageStatus[]): Partial<StatusCounts> {
  const counts: Partial<StatusCounts> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

const iso = (ms: number) => new Date(ms).toISOString();
