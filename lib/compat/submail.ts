import { QunfaError } from '../errors.js';
import type { Account } from '../model.js';
import { normalizePhone } from '../phone.js';
import { submailAuthRefusal } from '../providers/submail-sign.js';
import type { AccountStore } from '../stores/accounts.js';
import { submitTask, type SubmitDeps } from '../tasks/submit.js';
import { compatSendId } from './ids.js';

/**
 * SUBMAIL's bulk API served by qunfa (`sms/batchsend`, `sms/batchxsend`,
 * `balance/sms`), so code written for SUBMAIL works by changing its base URL:
 * `appid` is the account id, the appkey is the account's compat key, signed
 * normal/md5/sha1 exactly as SUBMAIL signs (sign_version 2 included) within
 * SUBMAIL's 6-second timestamp window. Answers are SUBMAIL's bodies and codes.
 * The task is accepted here and sent by qunfa's pipeline; `batchlist` is the
 * qunfa task id and each `send_id` is derived from it and the number.
 */
export type SubmailAnswer = Record<string, unknown>;
const err = (code: string, msg: string): SubmailAnswer => ({ status: 'error', code, msg });

export interface SubmailCompatDeps {
  accounts: Pick<AccountStore, 'get'>;
  submit: SubmitDeps;
  now?: () => Date;
}


/** qunfa's refusal in SUBMAIL's words (providers.md §1.7). */
const CODES: Record<string, [string, string]> = {
  SIGNATURE_REQUIRED: ['411', 'Missing or invalid SMS signature'],
  CONTENT_REQUIRED: ['403', 'Empty content'],
  CONTENT_EMPTY: ['414', 'Empty content'],
  CONTENT_TOO_LONG: ['415', 'Content too long'],
  NO_VALID_RECIPIENT: ['252', 'Invalid recipient number'],
  RECIPIENTS_REQUIRED: ['251', 'Empty recipient'],
  TOO_MANY_RECIPIENTS: ['252', 'Too many recipients: at most 10000 per request'],
  INSUFFICIENT_BALANCE: ['903', 'SMS credits insufficient'],
  DAILY_LIMIT_EXCEEDED: ['901', 'Daily quota reached'],
  TEMPLATE_NOT_FOUND: ['306', 'Invalid project'],
  TEMPLATE_VARS_MISSING: ['307', 'Invalid vars'],
  TEMPLATE_REQUIRED: ['417', 'Template required'],
};

export async function submailCompat(api: string, p: Record<string, string>, deps: SubmailCompatDeps): Promise<SubmailAnswer> {
  const auth = await authenticate(api, p, deps);
  if (!auth.ok) return auth.answer;
  const { account } = auth;
  if (api === 'balance/sms') return { status: 'success', balance: String(account.balance), transactional_balance: '0' };
  if (p.tag && p.tag.length > 32) return err('310', 'Tag too long');

  const to = (p.to ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (to.length === 0) return err('251', 'Empty recipient');
  if (to.length > 10_000) return err('252', 'Too many recipients: at most 10000 per request');
  let input: Parameters<typeof submitTask>[1];
  if (api === 'sms/batchxsend') {
    if (!p.project) return err('305', 'Empty project');
    let vars: Record<string, string> = {};
    try {
      vars = Object.fromEntries(Object.entries(JSON.parse(p.vars ?? '{}') as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    } catch {
      return err('307', 'Invalid JSON vars (json_decoding_error 4)');
    }
    input = { to, templateId: p.project, vars, ...(p.tag ? { tag: p.tag } : {}) };
  } else {
    if (!p.content?.trim()) return err('403', 'Empty content');
    input = { to, content: p.content, ...(p.tag ? { tag: p.tag } : {}) };
  }

  let task;
  try {
    task = await submitTask(account, input, { ...deps.submit, decorate: async (t) => ({ task: { ...t, compat: { vendor: 'submail' } } }) });
  } catch (e) {
    if (!(e instanceof QunfaError)) throw e;
    const [code, msg] = CODES[e.code] ?? ['101', e.message];
    return err(code, msg);
  }
  // One answer per number given, as SUBMAIL answers: accepted ones with the fee they cost.
  const seen = new Set<string>();
  const responses = to.map((raw) => {
    const phone = normalizePhone(raw);
    if (!phone) return { status: 'error', to: raw, code: '252', msg: 'Invalid recipient number' };
    if (seen.has(phone)) return { status: 'error', to: raw, code: '408', msg: 'Identical message already sent to this contact' };
    seen.add(phone);
    return { status: 'success', to: raw, send_id: compatSendId(task.taskId, phone), fee: task.segments };
  });
  return { status: 'success', batchlist: task.taskId, total_fee: task.fee, responses };
}

type Auth = { ok: true; account: Account & { compatKey: string } } | { ok: false; answer: SubmailAnswer };

async function authenticate(api: string, p: Record<string, string>, deps: SubmailCompatDeps): Promise<Auth> {
  const no = (code: string, msg: string): Auth => ({ ok: false, answer: err(code, msg) });
  const account = p.appid ? await deps.accounts.get(p.appid) : undefined;
  if (!account?.compatKey) return no('101', 'Incorrect APP ID');
  const refused = submailAuthRefusal(api, p, account.accountId, account.compatKey, (deps.now?.() ?? new Date()).getTime() / 1000);
  if (refused) return no(refused.code, refused.msg);
  return { ok: true, account: { ...account, compatKey: account.compatKey } };
}
