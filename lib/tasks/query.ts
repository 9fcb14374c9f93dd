import { notFound } from '../errors.js';
import type { Account, MessageStatus, Task } from '../model.js';
import { SETTLED_MESSAGE_STATUSES } from '../model.js';
import type { TaskStore } from '../stores/tasks.js';

export interface TaskView {
  taskId: string;
  name?: string;
  tag?: string;
  status: Task['status'];
  content: string;
  memberCount: number;
  invalidCount: number;
  duplicateCount: number;
  suppressedCount: number;
  segments: number;
  fee: number;
  counts: Record<MessageStatus | 'suppressed', number>;
  /** Settled recipients per provider. */
  byProvider: Task['byProvider'];
  route: Task['route'];
  templateId?: string;
  chunkCount: number;
  createTime: string;
  sendAt: string | null;
  startTime: string | null;
  endTime: string | null;
}

export function taskView(task: Task): TaskView {
  const settled = SETTLED_MESSAGE_STATUSES.reduce((n, s) => n + (task.counts[s] ?? 0), 0);
  return {
    taskId: task.taskId,
    ...(task.name !== undefined ? { name: task.name } : {}),
    ...(task.tag !== undefined ? { tag: task.tag } : {}),
    status: task.status,
    content: task.content,
    memberCount: task.memberCount,
    invalidCount: task.invalidCount,
    duplicateCount: task.duplicateCount,
    suppressedCount: task.suppressedCount ?? 0,
    segments: task.segments,
    fee: task.fee,
    // queued is never stored: it is every recipient not yet settled.
    counts: {
      queued: task.memberCount - settled,
      submitted: task.counts.submitted,
      delivered: task.counts.delivered,
      undelivered: task.counts.undelivered,
      rejected: task.counts.rejected,
      unknown: task.counts.unknown,
      canceled: task.counts.canceled ?? 0,
      suppressed: task.suppressedCount ?? 0,
    },
    byProvider: task.byProvider ?? {},
    route: task.route,
    ...(task.template ? { templateId: task.template.templateId } : {}),
    chunkCount: task.chunkCount,
    createTime: task.createTime,
    sendAt: task.sendAt ?? null,
    startTime: task.startTime ?? null,
    endTime: task.endTime ?? null,
  };
}

/** Another account's task answers exactly like a missing one (invariant 5). */
export async function getTaskForAccount(account: Account, taskId: string, tasks: TaskStore): Promise<TaskView> {
  const task = await tasks.get(taskId);
  if (!task || task.accountId !== account.accountId) throw notFound(`task ${taskId}`);
  return taskView(task);
}
