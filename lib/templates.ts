import { z } from 'zod';
import { inspectContent } from './content.js';
import { badRequest, notFound } from './errors.js';
import { ulid } from './ids.js';
import type { Account } from './model.js';
import type { TemplateStore } from './stores/templates.js';
import { PROVIDER_NAMES, type ProviderName } from './providers/index.js';

/**
 * A qunfa template: text with named variables (`%name%`, SendCloud's form, or
 * SUBMAIL's `@var(name)`), the 【签名】 in front, and per vendor the id of the
 * matching approved template where that vendor needs one (SendCloud always,
 * SUBMAIL when sending by `project`).
 */
export interface Template {
  accountId: string;
  templateId: string;
  name: string;
  text: string;
  variables: string[];
  vendorTemplateIds: Partial<Record<ProviderName, string>>;
  createTime: string;
  updateTime?: string;
}

const VARIABLE = /%([A-Za-z0-9_-]{1,32})%|@var\(([A-Za-z0-9_-]{1,32})\)/g;

export function templateVariables(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(VARIABLE)) names.add((m[1] ?? m[2]) as string);
  return [...names];
}

/** Fills every variable; a missing one is an error, never a hole in a message. */
export function renderTemplate(template: Pick<Template, 'text' | 'templateId'>, vars: Record<string, string>): string {
  const missing = templateVariables(template.text).filter((v) => vars[v] === undefined);
  if (missing.length > 0) {
    throw badRequest('TEMPLATE_VARS_MISSING', `template ${template.templateId} needs vars: ${missing.join(', ')}`, 'vars');
  }
  return template.text.replace(VARIABLE, (_m, a: string | undefined, b: string | undefined) => vars[(a ?? b) as string] ?? '');
}

/** Fills what `vars` has and leaves the rest empty: for length checks before per-recipient values are known. */
export function renderPartial(text: string, vars: Record<string, string>): string {
  return text.replace(VARIABLE, (_m, a: string | undefined, b: string | undefined) => vars[(a ?? b) as string] ?? '');
}

/** The text with SUBMAIL's `@var(name)` placeholders, for its per-recipient API. */
export function toAtVars(text: string): string {
  return text.replace(VARIABLE, (_m, a: string | undefined, b: string | undefined) => `@var(${(a ?? b) as string})`);
}

export const createTemplateInput = z.object({
  templateId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  name: z.string().min(1).max(64),
  text: z.string().min(1).max(1000),
  vendorTemplateIds: z.partialRecord(z.enum(PROVIDER_NAMES as [ProviderName, ...ProviderName[]]), z.string().min(1).max(64)).default({}),
});
export type CreateTemplateInput = z.infer<typeof createTemplateInput>;

export const updateTemplateInput = createTemplateInput.omit({ templateId: true });
export type UpdateTemplateInput = z.infer<typeof updateTemplateInput>;

/** What a create or a replace sets, checked: the signature rule applies to the text as written; variables only fill the body. */
function editable(input: UpdateTemplateInput): Pick<Template, 'name' | 'text' | 'variables' | 'vendorTemplateIds'> {
  inspectContent(input.text);
  return { name: input.name, text: input.text, variables: templateVariables(input.text), vendorTemplateIds: input.vendorTemplateIds };
}

export async function createTemplate(account: Account, input: CreateTemplateInput, templates: TemplateStore): Promise<Template> {
  const template: Template = {
    accountId: account.accountId,
    templateId: input.templateId ?? ulid(),
    ...editable(input),
    createTime: new Date().toISOString(),
  };
  await templates.create(template);
  return template;
}

/** Replaces a template's name, text and vendor ids; tasks already accepted keep the text they rendered. */
export async function updateTemplate(account: Account, templateId: string, input: UpdateTemplateInput, templates: TemplateStore): Promise<Template> {
  const current = await getTemplate(account, templateId, templates);
  const template: Template = { ...current, ...editable(input), updateTime: new Date().toISOString() };
  await templates.put(template);
  return template;
}

export async function deleteTemplate(account: Account, templateId: string, templates: TemplateStore): Promise<void> {
  if (!templateId || !(await templates.delete(account.accountId, templateId))) throw notFound(`template ${templateId}`);
}

export async function getTemplate(account: Account, templateId: string, templates: TemplateStore): Promise<Template> {
  const t = templateId ? await templates.get(account.accountId, templateId) : undefined;
  if (!t) throw notFound(`template ${templateId}`);
  return t;
}
