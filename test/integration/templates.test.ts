import { describe, expect, it } from 'vitest';
import { handler as templatesFn } from '../../functions/templates.js';
import { apiEvent, call, createAccount, taskItemsOf, postTask as post } from '../support/fixtures.js';

/** /v1/templates: create, list, read, replace, delete; and what submission checks of a template. */
const t = (apiKey: string, method: string, templateId?: string, body?: unknown) =>
  call(templatesFn, apiEvent({ method, path: `/v1/templates${templateId ? `/${templateId}` : ''}`, apiKey, ...(templateId ? { pathParameters: { templateId } } : {}), ...(body ? { body: JSON.stringify(body) } : {}) }));

describe('templates', () => {
  it('create, list, read, replace, delete; another account sees none of it', async () => {
    const { apiKey } = await createAccount();
    const other = await createAccount();
    expect(await t(apiKey, 'POST', undefined, { templateId: 'notice', name: '通知', text: '【示例】%name%您好，订单@var(order)已发货' })).toMatchObject({ status: 201, body: { variables: ['name', 'order'] } });
    expect((await t(apiKey, 'GET')).body.templates.map((x: { templateId: string }) => x.templateId)).toEqual(['notice']);
    const replaced = await t(apiKey, 'PUT', 'notice', { name: '通知2', text: '【示例】订单%order%已签收', vendorTemplateIds: { sendcloud: '10002' } });
    expect(replaced).toMatchObject({ status: 200, body: { name: '通知2', variables: ['order'], vendorTemplateIds: { sendcloud: '10002' } } });
    expect((await t(apiKey, 'GET', 'notice')).body.text).toBe('【示例】订单%order%已签收');
    expect((await t(apiKey, 'PUT', 'notice', { name: 'x', text: '没有签名' })).body.error.code).toBe('SIGNATURE_REQUIRED');
    expect((await t(other.apiKey, 'GET')).body.templates).toEqual([]);
    expect((await t(other.apiKey, 'PUT', 'notice', { name: 'x', text: '【别人】改' })).status).toBe(404);
    expect((await t(other.apiKey, 'DELETE', 'notice')).status).toBe(404);
    expect((await t(apiKey, 'DELETE', 'notice')).status).toBe(204);
    expect((await t(apiKey, 'GET', 'notice')).status).toBe(404);
    expect((await t(apiKey, 'DELETE', 'notice')).status).toBe(404);
  });

  it('submission refuses an unknown template, a missing variable and a rendered text too long, storing nothing', async () => {
    const { apiKey, account } = await createAccount();
    await t(apiKey, 'POST', undefined, { templateId: 'long', name: 'l', text: '【示例】%body%' });
    expect((await post(apiKey, { to: ['13800000001'], templateId: 'nope' })).body.error).toMatchObject({ code: 'TEMPLATE_NOT_FOUND', field: 'templateId' });
    expect((await post(apiKey, { to: ['13800000001'], templateId: 'long', vars: {} })).body.error).toMatchObject({ code: 'TEMPLATE_VARS_MISSING', field: 'vars' });
    expect((await post(apiKey, { to: ['13800000001'], templateId: 'long', vars: { body: '字'.repeat(1000) } })).body.error.code).toBe('CONTENT_TOO_LONG');
    expect(await taskItemsOf(account.accountId)).toBe(0);
    expect((await post(apiKey, { to: ['13800000001'], templateId: 'long', vars: { body: '短' } })).status).toBe(202);
  });
});
