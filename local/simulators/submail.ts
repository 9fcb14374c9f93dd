import { randomBytes } from 'node:crypto';
import { segmentsFor, smsLength } from '../../lib/content.js';
import { normalizePhone } from '../../lib/phone.js';
import { SUBMAIL_V2_EXCLUDED, submailSignature, type SubmailSignType } from '../../lib/providers/submail-sign.js';
import { startSimulator, type SimResponse, type Simulator } from './harness.js';

/**
 * SUBMAIL simulator: `sms/batchsend` (and `.json`) and `service/timestamp`, as
 * seed 003 and reference/providers.md §1 describe them. It checks appid and
 * the normal/md5/sha1 signature (sign_version 2 leaves `content` out), the
 * 6-second timestamp window, the 【签名】 and the 10,000-number cap, and
 * answers with per-recipient send_id and fee.
 */
export interface SubmailSimOptions {
  appid: string;
  appkey: string;
  port?: number;
}

const err = (code: string, msg: string): SimResponse => ({ status: 200, body: { status: 'error', code, msg } });

export function startSubmailSimulator(opts: SubmailSimOptions): Promise<Simulator> {
  return startSimulator(async (req, ctx) => {
    if (req.path === '/service/timestamp' || req.path === '/service/timestamp.json') {
      return { status: 200, body: { timestamp: Math.floor(Date.now() / 1000) } };
    }
    if (req.path !== '/sms/batchsend' && req.path !== '/sms/batchsend.json') return undefined;
    if (req.method !== 'POST') return err('101', 'Incorrect APP ID');
    if (!req.contentType) return err('101', 'Incorrect APP ID'); // FAQ #4: no Content-Type gives 101

    const p = req.params;
    if (p.appid !== opts.appid) return err('101', 'Incorrect APP ID');
    if (!p.signature) return err('111', 'Empty signature');
    const signType = (p.sign_type ?? 'normal') as SubmailSignType;
    if (!['normal', 'md5', 'sha1'].includes(signType)) return err('107', 'Invalid sign type');
    if (signType !== 'normal') {
      const ts = Number(p.timestamp);
      if (!p.timestamp || !Number.isFinite(ts)) return err('151', 'Invalid timestamp');
      if (Math.abs(Date.now() / 1000 - ts) > 6) return err('152', 'Timestamp expired');
    }
    const excluded = p.sign_version === '2' ? SUBMAIL_V2_EXCLUDED['sms/batchsend'] : [];
    const expected = submailSignature(p, opts.appid, opts.appkey, signType, excluded);
    if (p.signature.toLowerCase() !== expected) return err('108', 'Invalid signature');
    if (ctx.errorFault) return err(ctx.errorFault.code ?? '903', 'SMS credits insufficient (injected)');

    const content = p.content ?? '';
    if (content.trim() === '') return err('403', 'Empty content');
    const sig = /^【([^【】]*)】/.exec(content);
    if (!sig || smsLength(sig[1] ?? '') < 2 || smsLength(sig[1] ?? '') > 10) return err('411', 'Invalid SMS signature');
    if (content.slice(sig[0].length).trim() === '') return err('414', 'Empty content');
    const length = smsLength(content);
    if (length > 1000) return err('415', 'Content too long');
    const to = (p.to ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (to.length === 0) return err('251', 'Empty recipient');
    if (to.length > 10_000) return err('252', 'Too many recipients: at most 10000 per request');
    if (p.tag && p.tag.length > 32) return err('310', 'Tag too long');

    const fee = segmentsFor(length);
    const accepted: string[] = [];
    const responses = to.map((number) => {
      if (normalizePhone(number) !== number) return { status: 'error', to: number, code: '252', msg: 'Invalid recipient number' };
      accepted.push(number);
      return { status: 'success', to: number, send_id: randomBytes(16).toString('hex'), fee };
    });
    ctx.recordSend(accepted, content);
    return {
      status: 200,
      body: { status: 'success', batchlist: randomBytes(16).toString('hex'), total_fee: fee * accepted.length, responses },
    };
  }, opts.port);
}
