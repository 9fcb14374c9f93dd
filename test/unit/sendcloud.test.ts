import { describe, expect, it } from 'vitest';
import { sendcloudSignature, smshookSignature } from '../../lib/providers/sendcloud-sign.js';

// reference/providers.md §2.2 and §2.5 worked examples, byte for byte.
const params = { smsUser: 'testuser', templateId: '1', msgType: '0', phone: '18888888888', vars: '{"code":"123456"}', timestamp: '1700000000000' };
const KEY = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

describe('SendCloud signature', () => {
  it('SHA-256', () => expect(sendcloudSignature(params, KEY)).toBe('cbc598138246841ce6472b3f2d195e4772a268341dbe7bb88437a94afbc0e635'));
  it('MD5', () => expect(sendcloudSignature(params, KEY, 'md5')).toBe('766ccc410e31871935a16138b0897ee0'));
  it('ignores smsKey and signature', () => {
    expect(sendcloudSignature({ ...params, smsKey: 'x', signature: 'y' }, KEY)).toBe('cbc598138246841ce6472b3f2d195e4772a268341dbe7bb88437a94afbc0e635');
  });
  it('SMSHook HMAC-SHA256 over timestamp + token', () => {
    expect(smshookSignature('my_smshook_appkey', '1652117390000', '4mRG9lGhVb3jZhOMnksFPBtX1OLDMNZMfXTFHkFd9eybfdRiHM')).toBe(
      'b25cb76e2f134eb5490fb6726188f67ba8989927fb3c3941e702bf8def2b4e88',
    );
  });
});
