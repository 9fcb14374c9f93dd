import { notFound, QunfaError } from '../errors.js';
import type { Account } from '../model.js';
import type { TaskStore } from '../stores/tasks.js';
import { taskView, type TaskView } from './query.js';

/**
 * DELETE /v1/tasks/{taskId}: a scheduled or pending task is canceled before
 * anything is sent; a running one sends no further chunk (chunks already
 * sent, or in flight, stay sent); a finished task answers 409.
 */
export async function cancelTask(account: Account, taskId: string, tasks: TaskStore, now = new Date()): Promise<TaskView> {
  const task = await tasks.get(taskId);
  if (!task || task.accountId !== account.accountId) throw notFound(`task ${taskId}`);
  const was = await tasks.cancel(taskId, now.toISOString());
  if (!was) throw new QunfaError('TASK_FINISHED', `task ${taskId} is already ${task.status}`, 409);
  const after = await tasks.get(taskId);
  return taskView(after ?? task);
}
