/**
 * The one interface every SMS vendor adapter implements. Adding a vendor means
 * adding one file next to this one and registering it in ./index.ts.
 */
export type ProviderName = 'submail';

export interface SendRequest {
  phones: readonly string[];
  /** Full text including the 【签名】. */
  content: string;
  /** ≤32 characters; vendors that support a tag echo it in their receipts. */
  tag: string;
  /** Stable per chunk: vendors that deduplicate on a request id get this. */
  idempotencyKey: string;
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

export interface Provider {
  readonly name: ProviderName;
  /** Most recipients one request may carry; the pipeline chunks by it. */
  readonly batchLimit: number;
  send(req: SendRequest): Promise<SendOutcome>;
}
