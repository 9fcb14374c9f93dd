import { z } from 'zod';
import { inspectContent } from '../content.js';
import { badRequest } from '../errors.js';
import { ulid } from '../ids.js';
import type { Account, Chunk, Task } from '../model.js';
import { zeroCounts } from '../model.js';
import { parseRecipients, splitRecipientInput } from '../phone.js';
import { chunkSizeFor } from '../providers/index.js';
import type { TaskStore } from '../stores/tasks.js';

export const MAX_RECIPIENTS = 100_000;

/** The body of POST /v1/tasks as this issue defines it; parsed at the edge. */
export const sendBatchInput = z.object({
  to: z.union([z.string(), z.array(z.union([z.string(), z.number()])).max(MAX_RECIPIENTS)]),
  content: z.string(),
  name: z.string().max(64).optional(),
  tag: z.string().max(32).optional(),
});
export type SendBatchInput = z.infer<typeof sendBatchInput>;

export interface SubmittedTask {
  taskId: string;
  status: Task['status'];
  memberCount: number;
  invalidCount: number;
  invalidSamples: string[];
  duplicateCount: number;
  segments: number;
  fee: number;
  createTime: string;
}

export interface SubmitDeps {
  tasks: TaskStore;
  /** Starts fan-out now; if this is lost, the scheduler releases the task later. */
  enqueueFanOut(taskId: string): Promise<void>;
  now?: () => Date;
}

export async function submitTask(account: Account, input: SendBatchInput, deps: SubmitDeps): Promise<SubmittedTask> {
  const content = inspectContent(input.content);
  const raw = splitRecipientInput(input.to);
  if (raw.length > MAX_RECIPIENTS) {
    throw badRequest('TOO_MANY_RECIPIENTS', `to has ${raw.length} entries; the limit is ${MAX_RECIPIENTS}`, 'to');
  }
  const recipients = parseRecipients(raw);
  if (recipients.phones.length === 0) {
    throw badRequest(
      'NO_VALID_RECIPIENT',
      `to has no valid mainland mobile number (${recipients.invalidCount} invalid)`,
      'to',
    );
  }

  const now = (deps.now?.() ?? new Date()).toISOString();
  const taskId = ulid();
  const size = chunkSizeFor(account.route);
  const chunks: Chunk[] = [];
  for (let i = 0; i * size < recipients.phones.length; i++) {
    chunks.push({ taskId, chunkNo: i, status: 'queued', phones: recipients.phones.slice(i * size, (i + 1) * size) });
  }
  const memberCount = recipients.phones.length;
  const task: Task = {
    taskId,
    accountId: account.accountId,
    status: 'pending',
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.tag !== undefined ? { tag: input.tag } : {}),
    content: input.content,
    segments: content.segments,
    fee: content.segments * memberCount,
    memberCount,
    invalidCount: recipients.invalidCount,
    duplicateCount: recipients.duplicateCount,
    route: account.route,
    chunkCount: chunks.length,
    chunksSettled: 0,
    counts: zeroCounts(),
    createTime: now,
    dueAt: now,
  };
  await deps.tasks.create(task, chunks);
  await deps.enqueueFanOut(taskId);

  return {
    taskId,
    status: task.status,
    memberCount,
    invalidCount: recipients.invalidCount,
    invalidSamples: recipients.invalidSamples,
    duplicateCount: recipients.duplicateCount,
    segments: task.segments,
    fee: task.fee,
    createTime: now,
  };
}
