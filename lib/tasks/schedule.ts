import type { TaskStore } from '../stores/tasks.js';

/**
 * The scheduler's run (EventBridge, every minute): release tasks that are due
 * but were never fanned out. Today that is a task whose fan-out message was
 * lost between the task write and the enqueue (send-batch crashed); scheduled
 * tasks (sendAt) will use the same index. Releasing twice is harmless, because
 * fan-out starts a task with a conditional write.
 */
export interface ScheduleDeps {
  tasks: TaskStore;
  enqueueFanOut(taskIds: string[]): Promise<void>;
  now?: () => Date;
  /** A task this young was just handed to fan-out by send-batch itself. */
  graceMs?: number;
}

export async function releaseDueTasks(deps: ScheduleDeps): Promise<string[]> {
  const now = deps.now?.() ?? new Date();
  const grace = deps.graceMs ?? 60_000;
  const cutoff = new Date(now.getTime() - grace).toISOString();
  const due = await deps.tasks.listDue(now.toISOString(), 500);
  const release = due
    .filter((t) => t.status === 'pending')
    .filter((t) => (t.dueAt ?? t.createTime) > t.createTime || t.createTime <= cutoff)
    .map((t) => t.taskId);
  if (release.length > 0) await deps.enqueueFanOut(release);
  return release;
}
