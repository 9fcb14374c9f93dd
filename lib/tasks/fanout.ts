import type { Chunk, Task } from '../model.js';
import { segmentsFor, smsLength } from '../content.js';
import { renderPartial } from '../templates.js';
import { chunkSizeForTask } from './submit.js';
import type { ContactStore, Member } from '../stores/contacts.js';
import { usageAdjust, type LedgerStore } from '../stores/ledger.js';
import type { TransactItem } from '../stores/transact.js';
import type { SuppressionStore } from '../stores/replies.js';
import type { TaskStore } from '../stores/tasks.js';
import type { ChunkRef } from './dispatch.js';

/**
 * Fan-out of one task: pending → running, then every chunk onto the dispatch
 * queue. Re-running it is harmless: `start` is conditional, and a chunk
 * enqueued twice is claimed once by dispatch. `fannedOut` spares the work when
 * a finished fan-out's queue message comes back.
 *
 * A task to contact lists is cut into chunks here, a few chunks per run: the
 * lists are read in phone order and merged (so a number on two lists is sent
 * once), members added after the task was accepted, numbers given inline and
 * suppressed numbers are skipped. Each chunk records the list position after
 * it, and the task's cursor moves with a conditional write, so a run that dies
 * midway is resumed from the last chunk it wrote: nothing is cut twice or
 * lost. A run that has more to do puts the task back on the fan-out queue.
 */
export interface FanOutDeps {
  tasks: TaskStore;
  enqueueChunks(refs: ChunkRef[]): Promise<void>;
  contacts?: Pick<ContactStore, 'page'>;
  suppressions?: Pick<SuppressionStore, 'all'>;
  ledger?: Pick<LedgerStore, 'items'>;
  /** Continues a list fan-out in a new run. */
  enqueueFanOut?(taskId: string): Promise<void>;
  now?: () => Date;
  /** Chunks cut per run: bounds one run's time and memory. */
  chunksPerRun?: number;
  /** Tests stop a run here to prove resumption. */
  crash?: (point: 'after-chunk') => void;
}

export type FanOutResult = 'fanned-out' | 'continued' | 'not-due' | 'nothing-to-do' | 'missing' | 'lost-race';

export async function fanOutTask(taskId: string, deps: FanOutDeps): Promise<FanOutResult> {
  const now = deps.now?.() ?? new Date();
  let task = await deps.tasks.get(taskId);
  if (!task) return 'missing';
  if (task.status === 'pending') {
    if (task.dueAt && task.dueAt > now.toISOString()) return 'not-due';
    await deps.tasks.start(taskId, now.toISOString());
    task = await deps.tasks.get(taskId);
    if (!task) return 'missing';
  }
  // A task canceled while running still hands its unsent chunks to dispatch,
  // which settles them `canceled` and refunds them.
  if (!(task.status === 'running' || canceledWhileRunning(task)) || task.fannedOut) return 'nothing-to-do';

  const inlineChunks = task.inlineChunks ?? task.chunkCount;
  const firstRun = task.listCursor === undefined && !task.listsDone;
  if (firstRun) {
    await deps.enqueueChunks(Array.from({ length: inlineChunks }, (_, chunkNo) => ({ taskId, chunkNo })));
  }
  if (task.lists?.length && !task.listsDone) {
    // A canceled task cuts no further chunks; what it did not cut is refunded below.
    const more = task.status === 'canceled' ? await stopLists(task, deps) : await fanOutListStep(task, deps, now);
    // Another run of the same step won and carries the fan-out on: this copy just stops.
    if (more === 'lost-race') return 'lost-race';
    if (more) {
      if (!deps.enqueueFanOut) throw new Error('list fan-out needs enqueueFanOut');
      await deps.enqueueFanOut(taskId);
      return 'continued';
    }
    task = (await deps.tasks.get(taskId)) ?? task;
    await settleEstimate(task, deps, now);
  }
  await deps.tasks.markFannedOut(taskId);
  // Dispatch may have settled every chunk before fan-out was marked done.
  await deps.tasks.finishIfDone(taskId, now.toISOString());
  return 'fanned-out';
}

/** Started (so its chunks may be on the dispatch queue) and then canceled. */
export const canceledWhileRunning = (task: Task): boolean => task.status === 'canceled' && task.startTime !== undefined;

const DEFAULT_CHUNKS_PER_RUN = 10;

/** Cuts up to `chunksPerRun` chunks from the lists; true when there is more. */
async function fanOutListStep(task: Task, deps: FanOutDeps, now: Date): Promise<boolean | 'lost-race'> {
  const { contacts, suppressions } = deps;
  if (!contacts || !suppressions) throw new Error('list fan-out needs the contact and suppression stores');
  const size = chunkSizeForTask(task);
  const per = task.template?.perRecipient;
  const from = task.listCursor;
  let cursor = from;
  let chunkNo = task.chunkCount;
  let members = 0;
  let points = 0;
  const refs: ChunkRef[] = [];
  const pointsOf = (c: Chunk) => (c.segs ? Object.values(c.segs).reduce((n, x) => n + x, 0) : c.phones.length * task.segments);

  // Chunks written by a run that died before it saved the cursor come first.
  for (let found = await deps.tasks.getChunk(task.taskId, chunkNo); found?.listCursor; found = await deps.tasks.getChunk(task.taskId, chunkNo)) {
    cursor = found.listCursor;
    members += found.phones.length;
    points += pointsOf(found);
    refs.push({ taskId: task.taskId, chunkNo: chunkNo++ });
  }

  const skip = await inlinePhones(task, deps.tasks);
  const suppressed = await suppressions.all(task.accountId);
  let suppressedHere = 0;
  const stream = mergeLists(contacts, task.accountId, (task.lists ?? []).map((l) => l.listId), cursor);
  let done = false;
  const perRun = deps.chunksPerRun ?? DEFAULT_CHUNKS_PER_RUN;
  while (refs.length < perRun) {
    const phones: string[] = [];
    const vars: Record<string, Record<string, string>> = {};
    const segs: Record<string, number> = {};
    let last: string | undefined;
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        done = true;
        break;
      }
      const m = next.value;
      last = m.phone;
      if (m.addedAt > task.createTime || skip.has(m.phone)) continue;
      if (suppressed.has(m.phone)) {
        suppressedHere++;
        continue;
      }
      phones.push(m.phone);
      if (per) {
        // The member's own values over the task's; one it lacks is caught at dispatch, never sent as a hole.
        const own = { ...task.template?.vars, ...m.vars };
        vars[m.phone] = own;
        segs[m.phone] = segmentsFor(smsLength(renderPartial(per.text, own)));
      }
      if (phones.length === size) break;
    }
    if (phones.length > 0) {
      const chunk: Chunk = { taskId: task.taskId, chunkNo, status: 'queued', phones, listCursor: last ?? cursor ?? '', ...(per ? { vars, segs } : {}) };
      if (!(await deps.tasks.putChunk(chunk))) return 'lost-race';
      deps.crash?.('after-chunk');
      cursor = chunk.listCursor;
      members += phones.length;
      points += pointsOf(chunk);
      refs.push({ taskId: task.taskId, chunkNo: chunkNo++ });
    } else if (last !== undefined) {
      cursor = last;
    }
    if (done) break;
  }
  await deps.enqueueChunks(refs);
  const advanced = await deps.tasks.advanceLists(task.taskId, { from, cursor, chunkCount: chunkNo, members, points, suppressed: suppressedHere, done, at: now.toISOString() });
  return advanced ? !done : 'lost-race';
}

/** A canceled task: the lists are not read further. */
async function stopLists(task: Task, deps: FanOutDeps): Promise<boolean> {
  await deps.tasks.advanceLists(task.taskId, { from: task.listCursor, cursor: task.listCursor, chunkCount: task.chunkCount, members: 0, points: 0, suppressed: 0, done: true, at: new Date().toISOString() });
  return false;
}

/**
 * The fee was reserved for the lists' member counts at acceptance; now the
 * exact number is known (duplicates across lists, suppressed and removed
 * members drop out), the difference is refunded, or charged if members raced in.
 */
async function settleEstimate(task: Task, deps: FanOutDeps, now: Date): Promise<void> {
  if (task.memberCountExact) return;
  const exact = (task.inlineCount ?? 0) + (task.listMembers ?? 0);
  const exactPoints = (task.inlineCount ?? 0) * task.segments + (task.listPoints ?? (task.listMembers ?? 0) * task.segments);
  const diff = task.fee - exactPoints;
  const fewer = task.memberCount - exact;
  const commit: TransactItem[] = [];
  if (diff !== 0 && deps.ledger) {
    const kind = diff > 0 ? 'refund' : 'charge';
    // The day's usage moves with the points when both go the same way, else on its own.
    const sameWay = (diff > 0 && fewer > 0) || (diff < 0 && fewer < 0);
    commit.push(
      ...deps.ledger.items(
        {
          accountId: task.accountId,
          kind,
          entry: `${kind}#${task.taskId}#fanout`,
          points: Math.abs(diff),
          ...(sameWay ? { messages: Math.abs(fewer) } : {}),
          ...(task.usageDay ? { usageDay: task.usageDay } : {}),
          taskId: task.taskId,
          note: diff > 0 ? 'list members not sent (duplicates, suppressed, removed, canceled) or shorter texts' : 'list members beyond the count at acceptance, or longer per-recipient texts',
          time: now.toISOString(),
        },
        0,
        { overdraft: true },
      ),
    );
    if (!sameWay && fewer !== 0 && task.usageDay) commit.push(usageAdjust(task.accountId, task.usageDay, -fewer));
  } else if (fewer !== 0 && task.usageDay) {
    commit.push(usageAdjust(task.accountId, task.usageDay, -fewer));
  }
  await deps.tasks.settleMemberCount(task.taskId, exact, exactPoints, commit);
}

async function inlinePhones(task: Task, tasks: TaskStore): Promise<Set<string>> {
  const set = new Set<string>();
  for (let n = 0; n < (task.inlineChunks ?? 0); n++) for (const p of (await tasks.getChunk(task.taskId, n))?.phones ?? []) set.add(p);
  return set;
}

const PAGE = 1_000;

/** The members of several lists in phone order, each number once (the first list's member wins). */
async function* mergeLists(contacts: Pick<ContactStore, 'page'>, accountId: string, listIds: string[], after: string | undefined): AsyncGenerator<Member> {
  const readers = listIds.map((listId) => {
    let buffer: Member[] = [];
    let next: string | undefined = after;
    let exhausted = false;
    return {
      async peek(): Promise<Member | undefined> {
        while (buffer.length === 0 && !exhausted) {
          const page = await contacts.page(accountId, listId, { limit: PAGE, ...(next !== undefined ? { after: next } : {}) });
          buffer = page.members;
          next = page.next ?? page.members.at(-1)?.phone ?? next;
          exhausted = page.next === undefined;
        }
        return buffer[0];
      },
      shift: () => buffer.shift(),
    };
  });
  for (;;) {
    const heads = await Promise.all(readers.map((r) => r.peek()));
    let min: Member | undefined;
    for (const h of heads) if (h && (!min || h.phone < min.phone)) min = h;
    if (!min) return;
    heads.forEach((h, i) => {
      if (h?.phone === min?.phone) readers[i]?.shift();
    });
    yield min;
  }
}
