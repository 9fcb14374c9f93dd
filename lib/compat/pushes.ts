import { randomBytes } from 'node:crypto';
import type { CallbackEvent } from '../callbacks.js';
import { toChinaTime } from '../time.js';
import { compatSendId } from './ids.js';
import { smshookSignature } from '../providers/sendcloud-sign.js';
import { subhookSignature } from '../providers/submail-sign.js';

/**
 * A receipt or reply of a task submitted through a vendor-compatible route,
 * in that vendor's own push format, for a customer whose code already parses
 * it (README "Vendor-compatible routes"). The customer verifies it with the
 * account's compat key where the vendor signs: SUBHOOK md5(token + key),
 * SMSHook HMAC-SHA256(key, timestamp + token); 10658 pushes are unsigned.
 * One POST per event, as the vendors push.
 */
export type PushVendor = 'submail' | 'sendcloud' | 'zywx';

export interface VendorPush {
  contentType: string;
  body: string;
}

const token = (n: number) => randomBytes(n).toString('base64url').slice(0, n);
const form = (f: Record<string, string>): VendorPush => ({ contentType: 'application/x-www-form-urlencoded', body: new URLSearchParams(f).toString() });

export function vendorPush(vendor: PushVendor, e: CallbackEvent, account: { accountId: string; compatKey: string }): VendorPush {
  const at = new Date(e.time);
  switch (vendor) {
    case 'submail': {
      const t = token(32);
      const signature = subhookSignature(t, account.compatKey);
      const common = { app: account.accountId, timestamp: String(Math.floor(at.getTime() / 1000)), token: t, signature };
      if (e.type === 'reply') return form({ events: 'mo', address: e.phone, content: e.content, ...common });
      return form({
        events: e.status === 'delivered' ? 'delivered' : 'dropped',
        address: e.phone,
        send_id: compatSendId(e.taskId, e.phone),
        ...(e.status === 'delivered' ? {} : { report: e.code ?? 'UNDELIV' }),
        ...common,
      });
    }
    case 'sendcloud': {
      const t = token(50);
      const timestamp = String(Date.now());
      const signature = smshookSignature(account.compatKey, timestamp, t);
      const common = { smsUser: account.accountId, timestamp, token: t, signature };
      if (e.type === 'reply') {
        return { contentType: 'application/json', body: JSON.stringify({ event: 'reply', eventType: 6, phone: e.phone, replyContent: e.content, replyTime: toChinaTime(at), ...common }) };
      }
      const delivered = e.status === 'delivered';
      return {
        contentType: 'application/json',
        body: JSON.stringify({
          event: delivered ? 'deliver' : 'delivererror',
          eventType: delivered ? 2 : 5,
          message: delivered ? 'Successfully delivered' : (e.code ?? 'UNDELIV'),
          ...(delivered ? {} : { statusCode: 500 }),
          smsId: compatSendId(e.taskId, e.phone),
          phone: e.phone,
          receiptTime: toChinaTime(at),
          customArgs: { taskId: e.taskId },
          ...common,
        }),
      };
    }
    case 'zywx':
      if (e.type === 'reply') return form({ mobile: e.phone, taskid: e.taskId ?? '', content: e.content, receivetime: toChinaTime(at) });
      return form({ mobile: e.phone, taskid: e.taskId, status: e.status === 'delivered' ? '1' : '0', code: e.code ?? (e.status === 'delivered' ? 'DELIVRD' : 'UNDELIV'), receivetime: toChinaTime(at) });
  }
}
