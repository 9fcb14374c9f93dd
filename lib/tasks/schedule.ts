import type { TaskStore } from '../stores/tasks.js';
import { canceledWhileRunning } from './fanout.js';

/**
 * The scheduler's run (EventBridge, every minute): start every task that is
 * due but not started: scheduled tasks whose `sendAt` has come (also those
 * due while the scheduler was down), and immediate tasks whose fan-out
 * message was lost. Each is claimed with a conditional write (pending or
 * scheduled → running), so overlapping runs cannot both start it; only the
 * winner hands it to fan-out.
 */
export interface ScheduleDeps {
  tasks: Pick<TaskStore, 'listDue' | 'start'>;
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
  const release: string[] = [];
  for (const t of due) {
    if (t.status === 'scheduled' || (t.status === 'pending' && t.createTime <= cutoff)) {
      if (await deps.tasks.start(t.taskId, now.toISOString())) release.push(t.taskId);
    } else if ((t.status === 'running' || canceledWhileRunning(t)) && (t.fanOutAt ?? t.startTime ?? '') <= cutoff) {
      release.push(t.taskId); // started, but its fan-out never finished: fan-out is idempotent
    }
  }
  if (release.length > 0) await deps.enqueueFanOut(release);
  return release;
}
