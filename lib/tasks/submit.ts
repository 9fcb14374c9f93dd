import { z } from 'zod';
import { inspectContent } from '../content.js';
import { chinaDay, fromChinaTime } from '../time.js';
import { badRequest, QunfaError } from '../errors.js';
import { ulid } from '../ids.js';
import type { Account, Chunk, Task, TaskTemplate } from '../model.js';
import { limitsOf, zeroCounts } from '../model.js';
import { chargeEntry, chargeRefusal, type LedgerStore } from '../stores/ledger.js';
import type { LimitStore } from '../stores/limits.js';
import type { ContactList, ContactStore } from '../stores/contacts.js';
import { parseRecipients, splitRecipientInput } from '../phone.js';
import { chunkSizeFor, multiLimitOf, PROVIDER_NAMES, requiresTemplate, type ProviderName } from '../providers/index.js';
import type { TemplateStore } from '../stores/templates.js';
import type { TransactItem } from '../stores/transact.js';
import type { SuppressionStore } from '../stores/replies.js';
import { renderPartial, renderTemplate, templateVariables } from '../templates.js';
import type { TaskStore } from '../stores/tasks.js';

export const MAX_RECIPIENTS = 100_000;

/** The body of POST /v1/tasks as this issue defines it; parsed at the edge. */
export const sendBatchInput = z.object({
  to: z.union([z.string(), z.array(z.union([z.string(), z.number()])).max(MAX_RECIPIENTS)]).optional(),
  /** Names of this account's contact lists; their members as of now, with `to`, de-duplicated. */
  contactLists: z.array(z.string().min(1)).min(1).max(10).optional(),
  /** Free text with its 【签名】; or `templateId` + `vars` instead. */
  content: z.string().optional(),
  templateId: z.string().min(1).max(64).optional(),
  vars: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).optional(),
  /** Narrows the account's route: a subset of it, in failover order. */
  route: z.array(z.enum(PROVIDER_NAMES as [ProviderName, ...ProviderName[]])).min(1).optional(),
  name: z.string().max(64).optional(),
  tag: z.string().max(32).optional(),
  /** ISO-8601 with an offset, or the vendors' `yyyy-MM-dd HH:mm:ss` read as China time. */
  sendAt: z.string().optional(),
  /** Receipts and replies of this task go here instead of the account's callback URL. */
  callbackUrl: z.string().url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL').optional(),
});
export type SendBatchInput = z.infer<typeof sendBatchInput>;

export interface SubmittedTask {
  taskId: string;
  status: Task['status'];
  memberCount: number;
  invalidCount: number;
  invalidSamples: string[];
  duplicateCount: number;
  /** Valid numbers left out because they opted out of this account. */
  suppressedCount: number;
  segments: number;
  fee: number;
  createTime: string;
  sendAt?: string;
}

export interface SubmitDeps {
  tasks: TaskStore;
  templates: TemplateStore;
  suppressions: Pick<SuppressionStore, 'all'>;
  contacts: Pick<ContactStore, 'getList'>;
  ledger: Pick<LedgerStore, 'items'>;
  limits: Pick<LimitStore, 'usage'>;
  /** Lets a vendor-compatible route add its own fields and writes to the task's commit. */
  decorate?: (task: Task) => Promise<{ task: Task; commit?: TransactItem[] }>;
  /** Starts fan-out now; if this is lost, the scheduler releases the task later. */
  enqueueFanOut(taskId: string): Promise<void>;
  now?: () => Date;
}

/** A scheduled time slightly in the past (clock skew, a slow client) still counts as now. */
const SEND_AT_TOLERANCE_MS = 60_000;
const SEND_AT_MAX_AHEAD_MS = 35 * 86_400_000;

/** Parses `sendAt`; undefined means "now". */
export function parseSendAt(text: string | undefined, now: Date): Date | undefined {
  if (text === undefined) return undefined;
  const iso = z.string().datetime({ offset: true }).safeParse(text);
  const at = iso.success ? new Date(text) : fromChinaTime(text);
  if (!at) {
    throw badRequest('INVALID_SEND_AT', 'sendAt must be ISO-8601 with an offset (2026-11-25T09:00:00+08:00) or yyyy-MM-dd HH:mm:ss (China time)', 'sendAt');
  }
  if (at.getTime() < now.getTime() - SEND_AT_TOLERANCE_MS) throw badRequest('SEND_AT_IN_PAST', `sendAt ${at.toISOString()} is in the past`, 'sendAt');
  if (at.getTime() > now.getTime() + SEND_AT_MAX_AHEAD_MS) throw badRequest('SEND_AT_TOO_FAR', 'sendAt is more than 35 days ahead', 'sendAt');
  return at.getTime() > now.getTime() ? at : undefined;
}

export async function submitTask(account: Account, input: SendBatchInput, deps: SubmitDeps): Promise<SubmittedTask> {
  const sendAt = parseSendAt(input.sendAt, deps.now?.() ?? new Date());
  const { text, template } = await resolveContent(account, input, deps.templates);
  const content = inspectContent(text);
  let route = routeFor(account, input.route, template !== undefined);
  if (template?.perRecipient) {
    if (input.to !== undefined) {
      throw badRequest('RECIPIENTS_FROM_LISTS_ONLY', `template ${template.templateId} takes ${template.perRecipient.variables.join(', ')} from each list member: give contactLists without to, or those vars`, 'to');
    }
    route = route.filter((p) => multiLimitOf(p) > 0);
    if (route.length === 0) {
      throw badRequest('PER_RECIPIENT_VARS_UNSUPPORTED', 'no provider of the route can send per-recipient texts (SUBMAIL can): add it to the route, or give every variable in vars', 'route');
    }
  }
  if (input.to === undefined && !input.contactLists) throw badRequest('RECIPIENTS_REQUIRED', 'give to (numbers), contactLists, or both', 'to');
  const lists = await resolveLists(account, input.contactLists ?? [], deps.contacts);
  const listMembers = lists.reduce((n, l) => n + l.memberCount, 0);
  const raw = input.to === undefined ? [] : splitRecipientInput(input.to);
  if (raw.length > MAX_RECIPIENTS) {
    throw badRequest('TOO_MANY_RECIPIENTS', `to has ${raw.length} entries; the limit is ${MAX_RECIPIENTS}`, 'to');
  }
  const recipients = parseRecipients(raw);
  // Opted-out numbers never reach a provider (DESIGN.md "Opt-out").
  const suppressed = await deps.suppressions.all(account.accountId);
  const phones = suppressed.size > 0 ? recipients.phones.filter((p) => !suppressed.has(p)) : recipients.phones;
  const suppressedCount = recipients.phones.length - phones.length;
  if (phones.length === 0 && listMembers === 0) {
    throw badRequest(
      'NO_VALID_RECIPIENT',
      `to has no valid mainland mobile number that may be sent to (${recipients.invalidCount} invalid, ${suppressedCount} suppressed)`,
      'to',
    );
  }

  const nowDate = deps.now?.() ?? new Date();
  const now = nowDate.toISOString();
  // With lists this is an estimate (their counts now); fan-out makes it exact and settles the difference.
  const memberCount = phones.length + listMembers;
  const fee = content.segments * memberCount;
  const limits = limitsOf(account);
  // A task counts against the day it sends on.
  const usageDay = chinaDay(sendAt ?? nowDate);
  await refuseEarly(account, { fee, messages: memberCount, dailyMessages: limits.dailyMessages, usageDay }, deps.limits);

  const taskId = ulid();
  const size = chunkSizeForTask({ route, ...(template ? { template } : {}) });
  const chunks: Chunk[] = [];
  for (let i = 0; i * size < phones.length; i++) {
    chunks.push({ taskId, chunkNo: i, status: 'queued', phones: phones.slice(i * size, (i + 1) * size) });
  }
  const task: Task = {
    taskId,
    accountId: account.accountId,
    status: sendAt ? 'scheduled' : 'pending',
    ...(sendAt ? { sendAt: sendAt.toISOString() } : {}),
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.tag !== undefined ? { tag: input.tag } : {}),
    ...(input.callbackUrl !== undefined ? { callbackUrl: input.callbackUrl } : {}),
    content: text,
    ...(template ? { template } : {}),
    segments: content.segments,
    fee,
    memberCount,
    invalidCount: recipients.invalidCount,
    duplicateCount: recipients.duplicateCount,
    suppressedCount,
    route,
    chunkCount: chunks.length,
    chunksSettled: 0,
    counts: zeroCounts(),
    byProvider: Object.fromEntries(route.map((p) => [p, {}])),
    createTime: now,
    dueAt: sendAt?.toISOString() ?? now,
    usageDay,
    ...(lists.length
      ? { lists: lists.map((l) => ({ listId: l.listId, name: l.name })), inlineCount: phones.length, inlineChunks: chunks.length }
      : {}),
    numberLimits: { perNumberIntervalSeconds: limits.perNumberIntervalSeconds, perNumberDaily: limits.perNumberDaily },
  };
  // The fee is reserved in the same transaction that commits the task: both or neither.
  const charge = { accountId: account.accountId, kind: 'charge' as const, entry: chargeEntry(taskId), points: fee, messages: memberCount, usageDay, taskId, time: now };
  const decorated = deps.decorate ? await deps.decorate(task) : { task };
  const committed = await deps.tasks.create(decorated.task, chunks, [...deps.ledger.items(charge, limits.dailyMessages), ...(decorated.commit ?? [])]);
  if (!committed.ok) throw chargeRefusal(committed.failed, { points: fee, messages: memberCount, dailyMessages: limits.dailyMessages });
  // A scheduled task waits for the scheduler; nothing is sent early.
  if (!sendAt) await deps.enqueueFanOut(taskId);

  return {
    taskId,
    status: task.status,
    memberCount,
    invalidCount: recipients.invalidCount,
    invalidSamples: recipients.invalidSamples,
    duplicateCount: recipients.duplicateCount,
    suppressedCount,
    segments: task.segments,
    fee: task.fee,
    createTime: now,
    ...(task.sendAt ? { sendAt: task.sendAt } : {}),
  };
}

async function resolveLists(account: Account, names: readonly string[], contacts: Pick<ContactStore, 'getList'>): Promise<ContactList[]> {
  const unique = [...new Set(names)];
  const found = await Promise.all(unique.map((n) => contacts.getList(account.accountId, n)));
  const missing = unique.filter((_, i) => !found[i]);
  if (missing.length > 0) throw badRequest('CONTACT_LIST_NOT_FOUND', `no contact list named ${missing.join(', ')}`, 'contactLists');
  return found as ContactList[];
}

/**
 * Refusals that need no write: spares writing the chunks of a task that cannot
 * be paid for. The transaction that commits the task is what decides, so two
 * concurrent submissions cannot both spend the last points.
 */
async function refuseEarly(
  account: Account,
  need: { fee: number; messages: number; dailyMessages: number; usageDay: string },
  limits: Pick<LimitStore, 'usage'>,
): Promise<void> {
  if (account.balance < need.fee) {
    throw new QunfaError('INSUFFICIENT_BALANCE', `the task costs ${need.fee} points and the account has ${account.balance} (余额不足)`, 402);
  }
  if (need.dailyMessages <= 0) return;
  const used = need.messages <= need.dailyMessages ? await limits.usage(account.accountId, need.usageDay) : need.dailyMessages;
  if (used + need.messages > need.dailyMessages) {
    throw new QunfaError(
      'DAILY_LIMIT_EXCEEDED',
      `the task has ${need.messages} recipients and the account has ${Math.max(0, need.dailyMessages - used)} of its ${need.dailyMessages} daily messages left for ${need.usageDay} (当日发送量已超出最大发送限制)`,
      429,
    );
  }
}

async function resolveContent(
  account: Account,
  input: SendBatchInput,
  templates: TemplateStore,
): Promise<{ text: string; template?: TaskTemplate }> {
  const fromLists = (input.contactLists?.length ?? 0) > 0;
  if (input.templateId !== undefined && input.content !== undefined) {
    throw badRequest('INVALID_REQUEST', 'give either content or templateId, not both', 'content');
  }
  if (input.templateId === undefined) {
    if (input.content === undefined) throw badRequest('CONTENT_REQUIRED', 'content (or templateId) is required', 'content');
    return { text: input.content };
  }
  const found = await templates.get(account.accountId, input.templateId);
  if (!found) throw badRequest('TEMPLATE_NOT_FOUND', `template ${input.templateId} does not exist`, 'templateId');
  const vars = input.vars ?? {};
  const open = templateVariables(found.text).filter((v) => vars[v] === undefined);
  if (open.length > 0 && fromLists) {
    // The members fill these; the length check sees the text with them empty, fan-out measures each.
    return {
      text: renderPartial(found.text, vars),
      template: { templateId: found.templateId, vendorTemplateIds: found.vendorTemplateIds, vars, perRecipient: { text: found.text, variables: templateVariables(found.text) } },
    };
  }
  return {
    text: renderTemplate(found, vars),
    template: { templateId: found.templateId, vendorTemplateIds: found.vendorTemplateIds, vars },
  };
}

/**
 * The providers this task may use, in failover order: the account's route or
 * the subset the task names. Vendors that send only approved templates
 * (SendCloud) cannot carry free content.
 */
function routeFor(account: Account, narrowed: readonly ProviderName[] | undefined, hasTemplate: boolean): ProviderName[] {
  const notAllowed = (narrowed ?? []).filter((p) => !account.route.includes(p));
  if (notAllowed.length > 0) {
    throw badRequest('ROUTE_NOT_ALLOWED', `route names providers this account cannot use: ${notAllowed.join(', ')}`, 'route');
  }
  const wanted = [...new Set(narrowed ?? account.route)];
  if (hasTemplate) return wanted;
  const templateOnly = wanted.filter(requiresTemplate);
  if (narrowed && templateOnly.length > 0) {
    throw badRequest('TEMPLATE_REQUIRED', `${templateOnly.join(', ')} sends only approved templates: use templateId, or leave it out of route`, 'route');
  }
  const usable = wanted.filter((p) => !requiresTemplate(p));
  if (usable.length === 0) {
    throw badRequest('TEMPLATE_REQUIRED', `every provider of this account's route (${wanted.join(', ')}) sends only approved templates: use templateId`, 'templateId');
  }
  return usable;
}

/** Recipients per chunk: the route's smallest batch, or its smallest per-recipient batch. */
export function chunkSizeForTask(task: Pick<Task, 'route' | 'template'>): number {
  return task.template?.perRecipient ? Math.min(...task.route.map(multiLimitOf)) : chunkSizeFor(task.route);
}
