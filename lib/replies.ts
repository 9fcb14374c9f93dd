import { z } from 'zod';
import { badRequest } from './errors.js';
import type { Account } from './model.js';
import { parseRecipients } from './phone.js';
import type { InboundReply } from './providers/types.js';
import { UNATTRIBUTED, type Reply, type ReplyStore, type Suppression, type SuppressionStore } from './stores/replies.js';
import type { TaskStore } from './stores/tasks.js';
import type { MessageStore } from './stores/messages.js';

/** Replies that opt a number out (DESIGN.md): trimmed and case-folded. */
const OPT_OUT = new Set(['td', '退订', 't', 'r', 'n']);
export const isOptOut = (content: string): boolean => OPT_OUT.has(content.trim().toLowerCase());

/**
 * Stores a reply under the account whose task it most likely answers (the
 * task the vendor's push names), and suppresses the number for that account
 * when the reply opts out.
 */
export async function recordReply(
  r: InboundReply,
  taskId: string | undefined,
  deps: { tasks: TaskStore; messages: Pick<MessageStore, 'latestTo'>; replies: ReplyStore; suppressions: SuppressionStore },
): Promise<{ accountId: string; taskId?: string; optedOut: boolean }> {
  const answered = taskId ?? (await latestTaskTo(r, deps));
  const task = answered ? await deps.tasks.get(answered) : undefined;
  const accountId = task?.accountId ?? UNATTRIBUTED;
  const reply: Reply = { accountId, phone: r.phone, content: r.content, time: r.time, provider: r.provider, ...(task ? { taskId: task.taskId } : {}) };
  await deps.replies.put(reply);
  const optedOut = task !== undefined && isOptOut(r.content);
  if (optedOut) await deps.suppressions.add(accountId, [{ phone: r.phone, reason: 'reply', time: r.time }]);
  return { accountId, ...(task ? { taskId: task.taskId } : {}), optedOut };
}

/**
 * SUBMAIL `mo` and SendCloud `reply` name no task: the reply answers the
 * newest of the last tasks (7 days, 200 tasks) that messaged this number.
 */
async function latestTaskTo(r: InboundReply, deps: { tasks: TaskStore; messages: Pick<MessageStore, 'latestTo'> }): Promise<string | undefined> {
  const since = new Date(Date.parse(r.time) - 7 * 86_400_000).toISOString();
  const recent = await deps.tasks.recentTaskIds(since, 200);
  return (await deps.messages.latestTo(r.phone, recent))?.taskId;
}

export const listRepliesQuery = z.object({
  since: z.string().datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

const cursorOut = (k?: string) => (k ? Buffer.from(k).toString('base64url') : null);
const cursorIn = (c?: string) => (c ? Buffer.from(c, 'base64url').toString('utf8') : undefined);

export async function listReplies(account: Account, q: z.infer<typeof listRepliesQuery>, replies: ReplyStore) {
  const since = q.since ? new Date(q.since).toISOString() : undefined;
  const after = cursorIn(q.cursor);
  const page = await replies.list(account.accountId, { limit: q.limit, ...(since ? { since } : {}), ...(after ? { after } : {}) });
  return {
    replies: page.replies.map((r) => ({ phone: r.phone, content: r.content, time: r.time, provider: r.provider, taskId: r.taskId ?? null })),
    cursor: cursorOut(page.next),
  };
}

export const addSuppressionsInput = z.object({ phones: z.array(z.union([z.string(), z.number()]).transform(String)).min(1).max(10_000) });
export const listSuppressionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

export async function addSuppressions(account: Account, input: z.infer<typeof addSuppressionsInput>, store: SuppressionStore) {
  const parsed = parseRecipients(input.phones);
  if (parsed.phones.length === 0) throw badRequest('NO_VALID_RECIPIENT', 'phones has no valid mainland mobile number', 'phones');
  const time = new Date().toISOString();
  const items: Suppression[] = parsed.phones.map((phone) => ({ phone, reason: 'manual', time }));
  await store.add(account.accountId, items);
  return { added: items.length, invalidCount: parsed.invalidCount, invalidSamples: parsed.invalidSamples };
}

export async function listSuppressions(account: Account, q: z.infer<typeof listSuppressionsQuery>, store: SuppressionStore) {
  const after = cursorIn(q.cursor);
  const page = await store.list(account.accountId, { limit: q.limit, ...(after ? { after } : {}) });
  return { suppressions: page.suppressions, cursor: cursorOut(page.next) };
}
