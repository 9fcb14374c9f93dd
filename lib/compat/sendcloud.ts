import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { config } from '../config.js';
import { QunfaError } from '../errors.js';
import type { Account, Task } from '../model.js';
import { sendcloudSignature } from '../providers/sendcloud-sign.js';
import type { AccountStore } from '../stores/accounts.js';
import type { TaskStore } from '../stores/tasks.js';
import type { TemplateStore } from '../stores/templates.js';
import { fromChinaTime, toChinaTime } from '../time.js';
import { submitTask, type SubmitDeps } from '../tasks/submit.js';
import { safeEqual } from '../providers/push.js';
import { createList, deleteList, importMembers, mustGetList, removeMembers, type ContactDeps } from '../contacts.js';
import type { ContactList, Member } from '../stores/contacts.js';

/**
 * SendCloud's contact-list task API served by qunfa (seeds 000/001):
 * `sendContactListTask` and `queryContactListTask`, GET or POST. `smsUser` is
 * the account id and SMS_KEY the account's compat key; the signature is
 * SendCloud's (sorted params wrapped in key&…&key, MD5 or SHA-256, told apart
 * by length), with the optional `timestamp` checked within 60 s. Answers use
 * SendCloud's envelope `{result, statusCode, message, info}` and its codes.
 *
 * SendCloud task ids are integers and clients parse them as such, so each
 * task gets a number from a per-deployment counter, kept on the task and
 * mapped back to it (tasks table, pk=compat#sendcloud#<n>).
 */
export interface SendcloudAnswer {
  result: boolean;
  statusCode: number;
  message: string;
  info: Record<string, unknown>;
}
const fail = (statusCode: number, message: string): SendcloudAnswer => ({ result: false, statusCode, message, info: {} });

export interface SendcloudCompatDeps {
  accounts: Pick<AccountStore, 'get'>;
  tasks: Pick<TaskStore, 'get'>;
  templates: Pick<TemplateStore, 'get' | 'list'>;
  submit: SubmitDeps;
  now?: () => Date;
}

/** What a compat task keeps to answer SendCloud's query as SendCloud would. */
export type SendcloudTaskFields = Extract<NonNullable<Task['compat']>, { vendor: 'sendcloud' }>;

const STATUS: Record<Task['status'], string> = {
  pending: '等待执行',
  scheduled: '等待执行',
  running: '执行中',
  succeeded: '执行成功',
  failed: '执行失败',
  canceled: '执行失败',
};

/** qunfa's refusal in SendCloud's codes (providers.md §2.4). */
const CODES: Record<string, [number, string]> = {
  NO_VALID_RECIPIENT: [412, '手机号格式错误'],
  INSUFFICIENT_BALANCE: [499, '余额不足'],
  DAILY_LIMIT_EXCEEDED: [499, '超出当日发送限制'],
  TEMPLATE_NOT_FOUND: [431, '模板不存在'],
  TEMPLATE_VARS_MISSING: [441, '替换变量格式错误'],
  CONTACT_LIST_NOT_FOUND: [411, '联系人列表不存在'],
  SEND_AT_IN_PAST: [452, '定时发送时间早于服务器时间'],
  SEND_AT_TOO_FAR: [451, '定时发送时间格式错误'],
  INVALID_SEND_AT: [451, '定时发送时间格式错误'],
};

export async function sendcloudCompat(api: 'sendContactListTask' | 'queryContactListTask', p: Record<string, string>, deps: SendcloudCompatDeps): Promise<SendcloudAnswer> {
  const auth = await authenticate(p, deps);
  if (!auth.ok) return auth.answer;
  return api === 'sendContactListTask' ? send(auth.account, p, deps) : query(auth.account, p, deps);
}

type Auth = { ok: true; account: Account } | { ok: false; answer: SendcloudAnswer };

async function authenticate(p: Record<string, string>, deps: SendcloudCompatDeps): Promise<Auth> {
  const no = (code: number, message: string): Auth => ({ ok: false, answer: fail(code, message) });
  if (!p.smsUser) return no(472, 'smsUser不能为空');
  const account = await deps.accounts.get(p.smsUser);
  if (!account?.compatKey) return no(471, 'smsUser不存在');
  if (!p.signature) return no(421, '签名参数错误');
  const digest = p.signature.length === 32 ? 'md5' : 'sha256';
  if (!safeEqual(p.signature.toLowerCase(), sendcloudSignature(p, account.compatKey, digest))) return no(422, '签名错误');
  if (p.timestamp !== undefined) {
    const now = (deps.now?.() ?? new Date()).getTime();
    if (!/^\d+$/.test(p.timestamp) || Math.abs(now - Number(p.timestamp)) > 60_000) return no(461, '时间戳无效');
  }
  return { ok: true, account };
}

async function send(account: Account, p: Record<string, string>, deps: SendcloudCompatDeps): Promise<SendcloudAnswer> {
  // The seed's request example says contactName where its table says contactListName: take either.
  const listNames = (p.contactListName ?? p.contactName ?? '').split(';').map((s) => s.trim()).filter(Boolean);
  if (listNames.length === 0) return fail(411, 'contactListName不能为空');
  if (!p.templateId) return fail(433, 'templateId不能为空');
  const template = await findTemplate(account, p.templateId, deps.templates);
  if (!template) return fail(431, '模板不存在');
  if (p.executeTime !== undefined && p.executeTime !== '' && !fromChinaTime(p.executeTime)) return fail(451, '定时发送时间格式错误');

  let accepted;
  try {
    accepted = await submitTask(
      account,
      {
        contactLists: listNames,
        templateId: template,
        ...(p.taskName ? { name: p.taskName.slice(0, 64) } : {}),
        ...(p.executeTime ? { sendAt: p.executeTime } : {}),
      },
      {
        ...deps.submit,
        // The number is fixed before the task is written, so it is on the task from the start.
        decorate: async (task) => {
          const n = await nextTaskNumber();
          const compat: SendcloudTaskFields = {
            vendor: 'sendcloud',
            taskId: n,
            contactListName: listNames.join(';'),
            senderName: p.senderName ?? '',
            templateId: p.templateId ?? '',
            ...(p.labelId ? { labelId: p.labelId } : {}),
          };
          return { task: { ...task, compat }, commit: [{ Put: { TableName: config.tasksTable, Item: sendcloudNumberItem(n, task.taskId) } }] };
        },
      },
    );
  } catch (e) {
    if (!(e instanceof QunfaError)) throw e;
    const [code, message] = CODES[e.code] ?? [400, e.message];
    return fail(code, message);
  }
  const task = await deps.tasks.get(accepted.taskId);
  if (!task) throw new Error(`task ${accepted.taskId} vanished`);
  return { result: true, statusCode: 200, message: '联系人列表任务保存成功', info: { smsTask: smsTask(task, false) } };
}

async function query(account: Account, p: Record<string, string>, deps: SendcloudCompatDeps): Promise<SendcloudAnswer> {
  if (!p.taskId || !/^\d+$/.test(p.taskId)) return fail(400, 'taskId不能为空');
  const taskId = await taskIdFor(Number(p.taskId));
  const task = taskId ? await deps.tasks.get(taskId) : undefined;
  if (!task || task.accountId !== account.accountId || task.compat?.vendor !== 'sendcloud') return fail(400, '任务不存在');
  return { result: true, statusCode: 200, message: '查询成功', info: { smsTask: smsTask(task, true) } };
}

function smsTask(task: Task, withLabel: boolean): Record<string, unknown> {
  const c = task.compat as SendcloudTaskFields;
  return {
    contactListName: c.contactListName,
    createTime: toChinaTime(new Date(task.createTime)),
    endTime: task.endTime ? toChinaTime(new Date(task.endTime)) : '',
    memberCount: task.memberCount,
    senderName: c.senderName,
    status: STATUS[task.status],
    taskId: c.taskId,
    taskName: task.name ?? '',
    ...(withLabel ? { labelId: c.labelId ?? '' } : {}),
    templateId: /^\d+$/.test(c.templateId) ? Number(c.templateId) : c.templateId,
  };
}

/** A qunfa template named by its SendCloud template id, or by its own id. */
async function findTemplate(account: Account, id: string, templates: Pick<TemplateStore, 'get' | 'list'>): Promise<string | undefined> {
  const all = await templates.list(account.accountId);
  const byVendor = all.find((t) => t.vendorTemplateIds.sendcloud === id);
  if (byVendor) return byVendor.templateId;
  return (await templates.get(account.accountId, id))?.templateId;
}

const COUNTER = { pk: 'compat#sendcloud#counter', sk: 'counter' };

async function nextTaskNumber(): Promise<number> {
  const r = await dynamo().send(
    new UpdateCommand({ TableName: config.tasksTable, Key: COUNTER, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 }, ReturnValues: 'UPDATED_NEW' }),
  );
  return Number(r.Attributes?.n);
}

/** Written with the task: its SendCloud number → its id. */
export const sendcloudNumberItem = (n: number, taskId: string) => ({ pk: `compat#sendcloud#${n}`, sk: 'task', taskId });

async function taskIdFor(n: number): Promise<string | undefined> {
  const r = await dynamo().send(new GetCommand({ TableName: config.tasksTable, Key: { pk: `compat#sendcloud#${n}`, sk: 'task' }, ConsistentRead: true }));
  return r.Item?.taskId as string | undefined;
}

/**
 * SendCloud's contact-list management (`smsContactList/*`,
 * `smsContactListMember/*`) over qunfa's lists. The reference documents the
 * parameters but not every answer's shape; lists come back as
 * `info: {count, dataList}` and single objects under `info.contactList`.
 */
export interface SendcloudListDeps extends SendcloudCompatDeps {
  contacts: ContactDeps;
}

const listObject = (l: ContactList) => ({
  contactListId: l.listId,
  contactListName: l.name,
  description: l.description ?? '',
  memberCount: l.memberCount,
  createTime: toChinaTime(new Date(l.createTime)),
  updateTime: toChinaTime(new Date(l.updateTime)),
});
const ok = (message: string, info: Record<string, unknown>): SendcloudAnswer => ({ result: true, statusCode: 200, message, info });

export async function sendcloudListCompat(api: string, p: Record<string, string>, deps: SendcloudListDeps): Promise<SendcloudAnswer> {
  const auth = await authenticate(p, deps);
  if (!auth.ok) return auth.answer;
  const account = auth.account;
  const store = deps.contacts.contacts;
  const name = p.contactListName ?? p.contactName ?? '';
  const start = Math.max(0, Number(p.start ?? 0) || 0);
  const limit = Math.min(100, Math.max(1, Number(p.limit ?? 100) || 100));
  try {
    switch (api) {
      case 'smsContactList/list': {
        const all = (await store.lists(account.accountId)).filter((l) => !name || l.name === name);
        return ok('请求成功', { count: all.length, dataList: all.slice(start, start + limit).map(listObject) });
      }
      case 'smsContactList/save': {
        const created = await createList(account, { name, ...(p.description ? { description: p.description } : {}) }, deps.contacts);
        const list = await mustGetList(account, created.name, store);
        return ok('保存成功', { contactList: listObject(list) });
      }
      case 'smsContactList/update': {
        if (!p.newContactListName) return fail(400, 'newContactListName不能为空');
        const list = await mustGetList(account, name, store);
        if (!(await store.renameList(list, p.newContactListName))) return fail(400, '联系人列表名称已存在');
        return ok('更新成功', { contactList: listObject({ ...list, name: p.newContactListName }) });
      }
      case 'smsContactList/delete':
        await deleteList(account, name, deps.contacts);
        return ok('删除成功', {});
      case 'smsContactListMember/list': {
        const list = await mustGetList(account, name, store);
        // Members are kept in phone order: read up to start+limit and cut the page out.
        const members: Member[] = [];
        let after: string | undefined;
        do {
          const page = await store.page(account.accountId, list.listId, { limit: 1000, ...(after ? { after } : {}) });
          members.push(...page.members.filter((m) => (!p.phone || m.phone === p.phone) && (!p.userName || m.name === p.userName)));
          after = page.next;
        } while (after && members.length < start + limit);
        return ok('请求成功', {
          count: list.memberCount,
          dataList: members.slice(start, start + limit).map((m) => ({ phone: m.phone, userName: m.name ?? '', vars: m.vars ?? {} })),
        });
      }
      case 'smsContactListMember/saveOrUpdate': {
        let vars: Record<string, string> | undefined;
        if (p.vars) {
          try {
            vars = Object.fromEntries(Object.entries(JSON.parse(p.vars) as Record<string, unknown>).map(([k, v]) => [k.replace(/^%(.*)%$/, '$1'), String(v)]));
          } catch {
            return fail(441, '替换变量格式错误');
          }
        }
        const phones = (p.phone ?? '').split(/[;,]/).map((s) => s.trim()).filter(Boolean);
        if (phones.length === 0) return fail(411, '手机号不能为空');
        const r = await importMembers(account, name, phones.map((phone, i) => ({ line: i + 1, member: { phone, ...(p.userName ? { name: p.userName } : {}), ...(vars ? { vars } : {}) } })), deps.contacts);
        if (r.invalid > 0 && r.added + r.updated === 0) return fail(412, '手机号格式错误');
        return ok('保存成功', { addCount: r.added, updateCount: r.updated, memberCount: r.memberCount });
      }
      case 'smsContactListMember/delete': {
        const phones = (p.phone ?? '').split(/[;,]/).map((s) => s.trim()).filter(Boolean);
        if (phones.length === 0) return fail(411, '手机号不能为空');
        const r = await removeMembers(account, name, phones, deps.contacts);
        return ok('删除成功', { deleteCount: r.removed, memberCount: r.memberCount });
      }
      default:
        return fail(404, '接口不存在');
    }
  } catch (e) {
    if (!(e instanceof QunfaError)) throw e;
    if (e.code === 'CONTACT_LIST_NOT_FOUND' || e.code === 'NOT_FOUND') return fail(400, '联系人列表不存在');
    if (e.code === 'CONTACT_LIST_EXISTS') return fail(400, '联系人列表名称已存在');
    return fail(400, e.message);
  }
}
