import { describe, expect, it } from 'vitest';
import { classify } from '../../lib/providers/submail.js';
import { SUBMAIL_V2_EXCLUDED, submailSignature } from '../../lib/providers/submail-sign.js';

// reference/providers.md §1.2 worked example, byte for byte.
const appid = '12345';
const appkey = '0123456789abcdef0123456789abcdef';
const params = { to: '13800138000', project: 'ThJBE4', vars: '{"code":"4438"}', timestamp: '1414253462', sign_type: 'md5', sign_version: '2', appid };

describe('SUBMAIL signature', () => {
  it('md5, sign_version 2 (vars left out)', () => {
    expect(submailSignature(params, appid, appkey, 'md5', SUBMAIL_V2_EXCLUDED['sms/xsend'])).toBe('1afbe5b9b7bd596cd05d67254a220003');
  });
  it('sha1, sign_version 2', () => {
    expect(submailSignature({ ...params, sign_type: 'sha1' }, appid, appkey, 'sha1', SUBMAIL_V2_EXCLUDED['sms/xsend'])).toBe(
      '45aaa92c1961919b7e1222f13f4a9af3f8c5c1ce',
    );
  });
  it('md5, v1 (no sign_version; vars signed)', () => {
    const { sign_version: _v, ...v1 } = params;
    expect(submailSignature(v1, appid, appkey, 'md5')).toBe('0965931cf49bffe60d7443d4468ca26e');
  });
  it('never signs tag or signature; normal sends the appkey', () => {
    const a = submailSignature({ ...params, tag: 'x', signature: 'y' }, appid, appkey, 'md5', SUBMAIL_V2_EXCLUDED['sms/xsend']);
    expect(a).toBe('1afbe5b9b7bd596cd05d67254a220003');
    expect(submailSignature(params, appid, appkey, 'normal')).toBe(appkey);
  });
});

describe('SUBMAIL answer classification', () => {
  const phones = ['13800138000', '13900139000'];
  it('per-recipient results from batchsend responses', () => {
    const body = JSON.stringify({
      status: 'success',
      batchlist: 'b1',
      total_fee: 1,
      responses: [
        { status: 'success', to: '13800138000', send_id: '007cb85168d1450e7aca462462ef12b8', fee: 1 },
        { status: 'error', to: '13900139000', code: 252, msg: 'bad number' },
      ],
    });
    expect(classify(200, body, phones)).toEqual({
      kind: 'answered',
      batchId: 'b1',
      results: [
        { phone: '13800138000', accepted: true, providerMessageId: '007cb85168d1450e7aca462462ef12b8', fee: 1 },
        { phone: '13900139000', accepted: false, vendorCode: '252', code: 'INVALID_NUMBER', message: 'SUBMAIL 252: bad recipient number' },
      ],
    });
  });
  it.each([
    ['101', 'PROVIDER_AUTH_FAILED'],
    ['108', 'PROVIDER_AUTH_FAILED'],
    ['903', 'PROVIDER_BALANCE_INSUFFICIENT'],
    ['411', 'SIGNATURE_INVALID'],
    ['999', 'PROVIDER_BAD_REQUEST'],
  ])('whole-request error %s → definitive rejection %s', (vendorCode, code) => {
    const out = classify(200, JSON.stringify({ status: 'error', code: vendorCode, msg: 'x' }), phones);
    expect(out).toMatchObject({ kind: 'rejected', code, vendorCode });
  });
  it('accepts a numeric error code too', () => {
    expect(classify(200, '{"status":"error","code":903,"msg":"x"}', phones)).toMatchObject({ kind: 'rejected', vendorCode: '903' });
  });
  it('an unreadable 5xx is unknown, never a rejection', () => {
    expect(classify(502, '<html>Bad Gateway</html>', phones)).toMatchObject({ kind: 'unknown', code: 'PROVIDER_BAD_ANSWER' });
  });
});

describe('SUBHOOK push signature', () => {
  it('md5(token + key), the reference example', async () => {
    const { subhookSignature } = await import('../../lib/providers/submail-sign.js');
    expect(subhookSignature('067ef7e2f286a9a56eabb07dc9657852', 'my_subhook_key')).toBe('61bc33e46c8329ed51c264a0b0f700bb');
  });
});
