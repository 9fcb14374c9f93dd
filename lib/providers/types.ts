/**
 * The one interface every SMS vendor adapter implements. Adding a vendor means
 * adding one adapter file next to this one and one line in ./registry.ts.
 */
export type { ProviderName } from './registry.js';
import type { ProviderName } from './registry.js';

/** A template as the chunk needs it: this vendor's approved id, and the values for its variables. */
export interface TemplateRef {
  /** Absent when the qunfa template has no id at this vendor. */
  vendorTemplateId?: string;
  vars: Record<string, string>;
}

export interface SendRequest {
  phones: readonly string[];
  /** Full text including the 【签名】, already rendered from the template if there is one. */
  content: string;
  template?: TemplateRef;
  /** ≤32 characters; vendors that support a tag echo it in their receipts. */
  tag: string;
  /** Stable per chunk: vendors that deduplicate on a request id get this. */
  idempotencyKey: string;
  /**
   * One text, each recipient's own values (contact-list members' vars): the
   * template text with `@var(name)` placeholders, and per phone the values.
   * Only vendors with a `multiLimit` receive it.
   */
  perRecipient?: { text: string; vars: Record<string, Record<string, string>> };
}

export type RecipientResult =
  | { phone: string; accepted: true; providerMessageId: string; fee?: number }
  | { phone: string; accepted: false; code: string; vendorCode: string; message: string };

/**
 * How a request ended, which is what decides failover (DESIGN.md invariant 4):
 * - `answered`: the vendor processed the request; each recipient accepted or rejected.
 * - `rejected`: the vendor refused the whole request, or it never left us; nothing was sent.
 * - `unknown`: the request may have reached the vendor; it must not be resent.
 */
export type SendOutcome =
  | { kind: 'answered'; batchId?: string; results: RecipientResult[] }
  | { kind: 'rejected'; code: string; vendorCode?: string; message: string }
  | { kind: 'unknown'; code: string; message: string };

export type BalanceResult =
  | { kind: 'balance'; points: number; detail?: Record<string, number> }
  | { kind: 'unsupported'; message: string }
  | { kind: 'error'; code: string; message: string };

export interface Provider {
  readonly name: ProviderName;
  send(req: SendRequest): Promise<SendOutcome>;
  balance(): Promise<BalanceResult>;
}

/** What the registry knows of a vendor without credentials. */
export interface ProviderDescriptor<Config> extends PushParser<Config> {
  /** Most recipients one request may carry; the pipeline chunks by it. */
  batchLimit: number;
  /**
   * Most recipients one request with per-recipient values may carry (SUBMAIL
   * multisend); absent when the vendor has no such API in qunfa.
   */
  multiLimit?: number;
  /** Sends only approved templates (SendCloud): content-only tasks cannot use it. */
  requiresTemplate: boolean;
  /**
   * How long the vendor drops a repeat of the same idempotency key (SendCloud
   * sendRequestId: one hour). Within it, a chunk interrupted mid-send may be
   * resent safely; without it, never.
   */
  dedupeWindowMs?: number;
  /** Validates this vendor's entry of the providers configuration. */
  parseConfig(raw: unknown): Config;
  create(config: Config, timeoutMs: number): Provider;
}

/** Readable message for a transport failure, shared by all adapters. */
export const transportOutcome = (vendor: string, http: { kind: 'not-sent' | 'maybe-sent'; reason: string }): SendOutcome =>
  http.kind === 'not-sent'
    ? { kind: 'rejected', code: 'PROVIDER_UNREACHABLE', message: `${vendor} unreachable: ${http.reason}` }
    : { kind: 'unknown', code: 'PROVIDER_NO_ANSWER', message: `${vendor} did not answer: ${http.reason}` };

/** A delivery receipt, normalised from any vendor's push; the vendor's own code is kept. */
export interface InboundReceipt {
  type: 'receipt';
  provider: ProviderName;
  /** The qunfa task, when the push names it (SUBMAIL `tag`, SendCloud `customArgs`). */
  taskId?: string;
  /** The vendor's batch id, when that is how the push names the message (10658 `taskid`). */
  vendorBatchId?: string;
  phone: string;
  providerMessageId?: string;
  /** `pending` (SUBMAIL sending/unknown) is not final and changes nothing. */
  status: 'delivered' | 'undelivered' | 'pending';
  code?: string;
  /** UTC ISO-8601. */
  time: string;
}

/** A handset's reply (回复/上行). */
export interface InboundReply {
  type: 'reply';
  provider: ProviderName;
  taskId?: string;
  vendorBatchId?: string;
  phone: string;
  content: string;
  time: string;
}

export type InboundEvent = InboundReceipt | InboundReply;

export interface PushRequest {
  contentType: string;
  body: string;
  /** The secret path segment of the hook URL, for vendors that sign nothing (10658). */
  secret?: string;
  sourceIp?: string;
}

export type PushResult =
  | { ok: true; events: InboundEvent[] }
  | { ok: false; status: 400 | 401 | 403 | 404; code: string; message: string };

/** How a vendor's pushes are verified and read; part of its adapter. */
export interface PushParser<Config> {
  parsePush(config: Config, req: PushRequest, now: Date): PushResult;
}
