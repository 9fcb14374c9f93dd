import type { Task } from '../model.js';
import type { TaskStore } from '../stores/tasks.js';
import type { ChunkRef } from './dispatch.js';

/**
 * Fan-out of one task: pending → running, then every chunk onto the dispatch
 * queue. Re-running it is harmless: `start` is conditional, and a chunk
 * enqueued twice is claimed once by dispatch. `fannedOut` spares the work when
 * a finished fan-out's queue message comes back.
 */
export interface FanOutDeps {
  tasks: TaskStore;
  enqueueChunks(refs: ChunkRef[]): Promise<void>;
  now?: () => Date;
}

export type FanOutResult = 'fanned-out' | 'not-due' | 'nothing-to-do' | 'missing';

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
  const refs: ChunkRef[] = Array.from({ length: task.chunkCount }, (_, chunkNo) => ({ taskId, chunkNo }));
  await deps.enqueueChunks(refs);
  await deps.tasks.markFannedOut(taskId);
  return 'fanned-out';
}

/** Started (so its chunks may be on the dispatch queue) and then canceled. */
export const canceledWhileRunning = (task: Task): boolean => task.status === 'canceled' && task.startTime !== undefined;
