import { z } from 'zod';
import { badRequest, notFound } from '../errors.js';
import type { Account } from '../model.js';
import type { MessageStore } from '../stores/messages.js';
import type { TaskStore } from '../stores/tasks.js';

/** GET /v1/tasks/{taskId}/messages?status=&limit=&cursor= */
export const listMessagesQuery = z.object({
  status: z.enum(['submitted', 'delivered', 'undelivered', 'rejected', 'unknown']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});
export type ListMessagesQuery = z.infer<typeof listMessagesQuery>;

export interface MessageView {
  phone: string;
  provider: string;
  providerMessageId: string | null;
  status: string;
  code: string | null;
  submitTime: string;
  receiptTime: string | null;
}

export async function listTaskMessages(
  account: Account,
  taskId: string,
  q: ListMessagesQuery,
  deps: { tasks: TaskStore; messages: MessageStore },
): Promise<{ messages: MessageView[]; cursor: string | null }> {
  const task = await deps.tasks.get(taskId);
  if (!task || task.accountId !== account.accountId) throw notFound(`task ${taskId}`);
  let after: string | undefined;
  if (q.cursor) {
    after = Buffer.from(q.cursor, 'base64url').toString('utf8');
    if (!/^1\d{10}$/.test(after)) throw badRequest('INVALID_CURSOR', 'cursor is not one this API gave', 'cursor');
  }
  const page = await deps.messages.page(taskId, { ...(q.status ? { status: q.status } : {}), limit: q.limit, ...(after ? { after } : {}) });
  return {
    messages: page.messages.map((m) => {
      const r = m as typeof m & { receiptTime?: string; receiptCode?: string };
      return {
        phone: m.phone,
        provider: m.provider,
        providerMessageId: m.providerMessageId ?? null,
        status: m.status,
        code: r.receiptCode || m.code || null,
        submitTime: m.submitTime,
        receiptTime: r.receiptTime ?? null,
      };
    }),
    cursor: page.next ? Buffer.from(page.next).toString('base64url') : null,
  };
}
