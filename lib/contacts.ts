import { z } from 'zod';
import { parseCsv } from './csv.js';
import { badRequest, notFound, QunfaError } from './errors.js';
import { ulid } from './ids.js';
import type { Account } from './model.js';
import { normalizePhone } from './phone.js';
import type { ContactList, ContactStore, Member } from './stores/contacts.js';

/**
 * Contact lists (the SendCloud 联系人列表 a task can name): create, list,
 * delete, and members imported in bulk as JSON or CSV, numbers normalised
 * and validated as in send-batch.
 */
export const MAX_MEMBERS_PER_IMPORT = 100_000;
const NAME = /^[^#;/\\]{1,64}$/;

export const createListInput = z.object({
  name: z.string().trim().regex(NAME, '1–64 characters, none of # ; / \\'),
  description: z.string().max(256).optional(),
});

const memberInput = z.object({
  phone: z.union([z.string(), z.number()]).transform(String),
  name: z.string().max(64).optional(),
  vars: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).optional(),
});
export const jsonMembersInput = z.union([z.array(memberInput), z.object({ members: z.array(memberInput) }).transform((o) => o.members)]);
export type MemberInput = z.infer<typeof memberInput>;

export interface ContactListView {
  name: string;
  description?: string;
  memberCount: number;
  createTime: string;
  updateTime: string;
}
export const listView = (l: ContactList): ContactListView => ({
  name: l.name,
  ...(l.description ? { description: l.description } : {}),
  memberCount: l.memberCount,
  createTime: l.createTime,
  updateTime: l.updateTime,
});

export interface ImportResult {
  list: string;
  added: number;
  updated: number;
  /** Rows whose number is not a mainland mobile. */
  invalid: number;
  /** Up to 20 of them: the row's line (CSV) or index (JSON, from 1), and what was given. */
  invalidSamples: { line: number; value: string; reason: string }[];
  /** Repeats of a number earlier in the same import (the last one wins). */
  duplicate: number;
  memberCount: number;
}

export interface ContactDeps {
  contacts: ContactStore;
  /** Hands a deleted list's members to the background purge. */
  enqueuePurge(accountId: string, listId: string): Promise<void>;
  now?: () => Date;
}

export async function createList(account: Account, input: z.infer<typeof createListInput>, deps: ContactDeps): Promise<ContactListView> {
  const now = (deps.now?.() ?? new Date()).toISOString();
  const list: ContactList = { accountId: account.accountId, listId: ulid(), name: input.name, ...(input.description ? { description: input.description } : {}), memberCount: 0, createTime: now, updateTime: now };
  if (!(await deps.contacts.createList(list))) throw new QunfaError('CONTACT_LIST_EXISTS', `contact list ${input.name} already exists`, 409, 'name');
  return listView(list);
}

export async function mustGetList(account: Account, name: string, contacts: ContactStore): Promise<ContactList> {
  const list = name ? await contacts.getList(account.accountId, name) : undefined;
  if (!list) throw new QunfaError('CONTACT_LIST_NOT_FOUND', `contact list ${name} does not exist`, 404);
  return list;
}

export async function deleteList(account: Account, name: string, deps: ContactDeps): Promise<void> {
  const list = await deps.contacts.deleteList(account.accountId, name);
  if (!list) throw notFound(`contact list ${name}`);
  await deps.enqueuePurge(account.accountId, list.listId);
}

/** Rows as given (CSV after its header, or JSON), before validation. */
interface RawRow {
  line: number;
  member: MemberInput;
}

/** CSV with a header row: `phone` (or 手机/mobile), optionally `name`, every other column a variable. */
export function csvRows(text: string): RawRow[] {
  const rows = parseCsv(text);
  const header = rows.shift();
  if (!header) throw badRequest('EMPTY_IMPORT', 'the CSV has no header row (phone[,name][,variables…])');
  const cols = header.fields.map((f) => f.trim());
  const phoneAt = cols.findIndex((c) => /^(phone|mobile|手机|手机号|手机号码)$/i.test(c));
  if (phoneAt < 0) throw badRequest('CSV_NO_PHONE_COLUMN', `the CSV header (line ${header.line}) has no phone column`);
  const nameAt = cols.findIndex((c) => /^(name|姓名)$/i.test(c));
  return rows.map(({ line, fields }) => {
    const vars: Record<string, string> = {};
    cols.forEach((c, i) => {
      if (i !== phoneAt && i !== nameAt && c && fields[i] !== undefined && fields[i] !== '') vars[c] = fields[i] as string;
    });
    const name = nameAt >= 0 ? fields[nameAt]?.trim() : undefined;
    return { line, member: { phone: fields[phoneAt] ?? '', ...(name ? { name } : {}), ...(Object.keys(vars).length ? { vars } : {}) } };
  });
}

export const jsonRows = (members: MemberInput[]): RawRow[] => members.map((member, i) => ({ line: i + 1, member }));

export async function importMembers(account: Account, name: string, rows: RawRow[], deps: ContactDeps): Promise<ImportResult> {
  if (rows.length === 0) throw badRequest('EMPTY_IMPORT', 'no members to import');
  if (rows.length > MAX_MEMBERS_PER_IMPORT) {
    throw badRequest('TOO_MANY_MEMBERS', `${rows.length} members in one request; send at most ${MAX_MEMBERS_PER_IMPORT} per request (a larger list takes several)`);
  }
  const list = await mustGetList(account, name, deps.contacts);
  const now = (deps.now?.() ?? new Date()).toISOString();
  const byPhone = new Map<string, Member>();
  const invalidSamples: ImportResult['invalidSamples'] = [];
  let invalid = 0;
  let duplicate = 0;
  for (const { line, member } of rows) {
    const phone = normalizePhone(member.phone);
    if (!phone) {
      invalid++;
      if (invalidSamples.length < 20) invalidSamples.push({ line, value: member.phone, reason: 'not a mainland mobile number' });
      continue;
    }
    if (byPhone.has(phone)) duplicate++;
    byPhone.set(phone, { phone, ...(member.name ? { name: member.name } : {}), ...(member.vars ? { vars: member.vars } : {}), addedAt: now });
  }
  const { added, updated } = byPhone.size > 0 ? await deps.contacts.putMembers(list, [...byPhone.values()]) : { added: 0, updated: 0 };
  const after = await deps.contacts.getList(account.accountId, name);
  return { list: name, added, updated, invalid, invalidSamples, duplicate, memberCount: after?.memberCount ?? list.memberCount + added };
}

export async function removeMembers(account: Account, name: string, phones: string[], deps: ContactDeps): Promise<{ removed: number; memberCount: number }> {
  const list = await mustGetList(account, name, deps.contacts);
  const valid = [...new Set(phones.map((p) => normalizePhone(p)).filter((p): p is string => p !== undefined))];
  const removed = valid.length > 0 ? await deps.contacts.removeMembers(list, valid) : 0;
  return { removed, memberCount: (await deps.contacts.getList(account.accountId, name))?.memberCount ?? 0 };
}

export async function listMembers(account: Account, name: string, opts: { limit: number; cursor?: string }, contacts: ContactStore) {
  const list = await mustGetList(account, name, contacts);
  const page = await contacts.page(account.accountId, list.listId, { limit: opts.limit, ...(opts.cursor ? { after: opts.cursor } : {}) });
  return { list: name, memberCount: list.memberCount, members: page.members.map(({ addedAt, ...m }) => ({ ...m, addTime: addedAt })), ...(page.next ? { cursor: page.next } : {}) };
}

/** Members deleted per run of the background purge; a list with more is put back on the queue. */
const PURGE_PER_RUN = 25_000;

export async function purgeListStep(accountId: string, listId: string, deps: ContactDeps): Promise<'purged' | 'continued'> {
  if (await deps.contacts.purge(accountId, listId, PURGE_PER_RUN)) return 'purged';
  await deps.enqueuePurge(accountId, listId);
  return 'continued';
}
