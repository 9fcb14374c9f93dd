import { notFound, QunfaError } from '../errors.js';
import type { Account, Task } from '../model.js';
import { cancelRefundEntry, type LedgerStore } from '../stores/ledger.js';
import type { TaskStore } from '../stores/tasks.js';
import { taskView, type TaskView } from './query.js';

/**
 * DELETE /v1/tasks/{taskId}: a scheduled or pending task is canceled before
 * anything is sent and its whole fee refunded in the same transaction; a
 * running one sends no further chunk (chunks already sent, or in flight, stay
 * sent), and each chunk it does not send is refunded as dispatch settles it
 * `canceled`; a finished task answers 409.
 */
export interface CancelDeps {
  tasks: TaskStore;
  ledger: Pick<LedgerStore, 'items'>;
  now?: () => Date;
}

export async function cancelTask(account: Account, taskId: string, deps: CancelDeps): Promise<TaskView> {
  const now = (deps.now?.() ?? new Date()).toISOString();
  // The status can move under us (the scheduler starting the task): read, try, re-read.
  for (let attempt = 0; attempt < 5; attempt++) {
    const task = await deps.tasks.get(taskId);
    if (!task || task.accountId !== account.accountId) throw notFound(`task ${taskId}`);
    if (await cancelFrom(task, now, deps)) return taskView((await deps.tasks.get(taskId)) ?? task);
  }
  throw new QunfaError('CONFLICT', `task ${taskId} changed while it was being canceled; retry`, 409);
}

async function cancelFrom(task: Task, now: string, deps: CancelDeps): Promise<boolean> {
  switch (task.status) {
    case 'pending':
    case 'scheduled': {
      const refund = deps.ledger.items({
        accountId: task.accountId,
        kind: 'refund',
        entry: cancelRefundEntry(task.taskId),
        points: task.fee,
        messages: task.memberCount,
        ...(task.usageDay ? { usageDay: task.usageDay } : {}),
        taskId: task.taskId,
        note: 'task canceled before it started',
        time: now,
      });
      return deps.tasks.cancelUnstarted(task, now, refund);
    }
    case 'running':
      return deps.tasks.cancelRunning(task.taskId, now);
    default:
      throw new QunfaError('TASK_FINISHED', `task ${task.taskId} is already ${task.status}`, 409);
  }
}
