import { QunfaError } from '../errors.js';
import { fromChinaTime } from '../time.js';
import type { AccountStore } from '../stores/accounts.js';
import { submitTask, type SubmitDeps } from '../tasks/submit.js';
import { safeEqual } from '../providers/push.js';

/**
 * 中昱维信 (10658) bulk API served by qunfa: `smsApi/group` and
 * `smsApi/group/getBalance`, with `appId` = account id and `appKey` = the
 * account's compat key in plain text (the vendor has no signature), answering
 * `{returnStatus, message, remainPoint, taskId, successCounts}` with the seed's
 * "1 " (trailing space included) and its Chinese messages. `sendTime`
 * (yyyy-MM-dd HH:mm:ss, China time) schedules the task.
 */
export interface ZywxAnswer {
  returnStatus: string;
  message: string;
  remainPoint: string | null;
  taskId: string | null;
  successCounts: string | null;
}
const answer = (returnStatus: string, message: string, rest: Partial<Pick<ZywxAnswer, 'remainPoint' | 'taskId' | 'successCounts'>> = {}): ZywxAnswer => ({
  returnStatus,
  message,
  remainPoint: rest.remainPoint ?? null,
  taskId: rest.taskId ?? null,
  successCounts: rest.successCounts ?? null,
});
const fail = (message: string) => answer('0', message);

/** qunfa's refusal in the seed's words. */
const MESSAGES: Record<string, string> = {
  INSUFFICIENT_BALANCE: '余额不足',
  NO_VALID_RECIPIENT: '手机号码格式不正确',
  TOO_MANY_RECIPIENTS: '参数错误',
  DAILY_LIMIT_EXCEEDED: '当日发送量已超出最大发送限制',
  SEND_AT_IN_PAST: '参数错误',
  SEND_AT_TOO_FAR: '参数错误',
  INVALID_SEND_AT: '参数错误',
};

export interface ZywxCompatDeps {
  accounts: Pick<AccountStore, 'get'>;
  submit: SubmitDeps;
}

const EMOJI = /\p{Extended_Pictographic}/u;

export async function zywxCompat(api: 'smsApi/group' | 'smsApi/group/getBalance', p: Record<string, string>, deps: ZywxCompatDeps): Promise<ZywxAnswer> {
  if (!p.appId || !p.appKey) return fail('缺少参数');
  const account = await deps.accounts.get(p.appId);
  if (!account?.compatKey || !safeEqual(p.appKey, account.compatKey)) return fail('账号或密码错误');
  if (api === 'smsApi/group/getBalance') return answer('1 ', '成功', { remainPoint: String(account.balance) });

  if (!p.phone || !p.content) return fail('缺少参数');
  if (EMOJI.test(p.content)) return fail('参数错误');
  if (p.sendTime && !fromChinaTime(p.sendTime)) return fail('参数错误');
  try {
    const task = await submitTask(
      account,
      { to: p.phone, content: p.content, ...(p.sendTime ? { sendAt: p.sendTime } : {}) },
      { ...deps.submit, decorate: async (t) => ({ task: { ...t, compat: { vendor: 'zywx' } } }) },
    );
    const after = await deps.accounts.get(account.accountId);
    return answer('1 ', '成功', { remainPoint: String(after?.balance ?? account.balance - task.fee), taskId: task.taskId, successCounts: String(task.memberCount) });
  } catch (e) {
    if (!(e instanceof QunfaError)) throw e;
    return fail(MESSAGES[e.code] ?? '参数错误');
  }
}
