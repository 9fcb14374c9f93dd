import { segmentsFor, smsLength } from '../../lib/content.js';
import { isAllocatedMobile } from '../../lib/phone.js';
import { fromChinaTime, toChinaTime } from '../../lib/time.js';
import { form, startSimulator, type Accepted, type PushFormat, type SimResponse, type Simulator, type SimulatorOptions } from './harness.js';

/**
 * 中昱维信 (10658) simulator: `smsApi/group` and `smsApi/group/getBalance`
 * exactly as seed 002 shows them: plain appId/appKey, `returnStatus` "1 "
 * (with the seed's trailing space) or "0" with the seed's messages, one
 * `taskId` per batch, `remainPoint`. It enforces the 【签名】, no emoji, the
 * balance, and "same number once a minute". Numbers it drops (malformed, or
 * rate-limited) are left out of successCounts and get a failed receipt, the
 * only per-number answer the platform has. Receipts and replies are pushed as
 * form fields mobile, taskid, status, code, receivetime / content.
 */
export interface ZywxSimOptions extends SimulatorOptions {
  appId: string;
  appKey: string;
}

const answer = (returnStatus: string, message: string, rest: { remainPoint?: string; taskId?: string; successCounts?: string } = {}): SimResponse => ({
  status: 200,
  body: { returnStatus, message, remainPoint: rest.remainPoint ?? null, taskId: rest.taskId ?? null, successCounts: rest.successCounts ?? null },
});
const fail = (message: string) => answer('0', message);
const EMOJI = /\p{Extended_Pictographic}/u;

export function startZywxSimulator(opts: ZywxSimOptions): Promise<Simulator> {
  let nextTaskId = 3313746;
  const lastSent = new Map<string, number>();
  const lastTask = new Map<string, string>();
  const format: PushFormat = {
    receipt: (m: Accepted, delivered: boolean) =>
      form({ mobile: m.phone, taskid: m.extra?.taskid ?? '', status: delivered ? '1' : '0', code: delivered ? 'DELIVRD' : 'UNDELIV', receivetime: toChinaTime(new Date()) }),
    reply: (phone, content, at) => form({ mobile: phone, taskid: lastTask.get(phone) ?? '', content, receivetime: toChinaTime(at) }),
  };

  return startSimulator(async (req, ctx) => {
    if (req.path !== '/smsApi/group' && req.path !== '/smsApi/group/getBalance') return undefined;
    const p = req.params;
    if (!p.appId || !p.appKey) return fail('缺少参数');
    if (p.appId !== opts.appId || p.appKey !== opts.appKey) return fail('账号或密码错误');
    if (req.path === '/smsApi/group/getBalance') return answer('1 ', '成功', { remainPoint: String(ctx.balance()) });
    if (ctx.errorFault) return fail(ctx.errorFault.code ?? '余额不足');

    if (!p.phone || !p.content) return fail('缺少参数');
    if (!/^【[^【】]{2,10}】/.test(p.content) || EMOJI.test(p.content)) return fail('参数错误');
    if (p.sendTime && !fromChinaTime(p.sendTime)) return fail('参数错误');

    const now = Date.now();
    const taskId = String(nextTaskId++);
    const numbers = p.phone.split(',').map((s) => s.trim()).filter(Boolean);
    const accepted: string[] = [];
    const dropped: { phone: string; code: string }[] = [];
    for (const phone of numbers) {
      if (!isAllocatedMobile(phone)) dropped.push({ phone, code: 'PHONEERR' });
      else if (now - (lastSent.get(phone) ?? -Infinity) < 60_000) dropped.push({ phone, code: 'BEYONDM' });
      else accepted.push(phone);
    }
    if (accepted.length === 0) {
      return fail(dropped.every((d) => d.code === 'BEYONDM') ? '相同手机号码一分钟之内只可发送一次' : '手机号码格式不正确');
    }
    if (!ctx.charge(segmentsFor(smsLength(p.content)) * accepted.length)) return fail('余额不足');
    for (const phone of accepted) {
      lastSent.set(phone, now);
      lastTask.set(phone, taskId);
    }
    ctx.recordSend(accepted, p.content);
    ctx.deliver(accepted.map((phone) => ({ phone, messageId: `${taskId}:${phone}`, extra: { taskid: taskId } })));
    for (const d of dropped) ctx.push(form({ mobile: d.phone, taskid: taskId, status: '0', code: d.code, receivetime: toChinaTime(new Date()) }));
    return answer('1 ', '成功', { remainPoint: String(ctx.balance()), taskId, successCounts: String(accepted.length) });
  }, format, opts, () => {
    lastSent.clear();
    lastTask.clear();
  });
}
