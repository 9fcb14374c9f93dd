/** The domain's words as types (DESIGN.md "Domain words"). */
import type { ProviderName } from './providers/types.js';

export type TaskStatus = 'pending' | 'scheduled' | 'running' | 'succeeded' | 'failed' | 'canceled';

/** Message statuses that are counted on the task once a chunk settles. */
export const SETTLED_MESSAGE_STATUSES = ['submitted', 'delivered', 'undelivered', 'rejected', 'unknown', 'canceled'] as const;
export type SettledMessageStatus = (typeof SETTLED_MESSAGE_STATUSES)[number];
export type MessageStatus = 'queued' | SettledMessageStatus;

export type ChunkStatus = 'queued' | 'sending' | 'sent' | 'rejected' | 'unknown' | 'canceled';

export type StatusCounts = Record<SettledMessageStatus, number>;

export const zeroCounts = (): StatusCounts => ({ submitted: 0, delivered: 0, undelivered: 0, rejected: 0, unknown: 0, canceled: 0 });

/**
 * Sending limits of an account (the vendors' defaults: 相同手机号码一分钟之内只可发送一次,
 * 该号码今日发送次数已达上限, 当日发送量已超出最大发送限制). 0 turns a limit off.
 * Days are China calendar days.
 */
export interface AccountLimits {
  /** Least time between two messages to one number. */
  perNumberIntervalSeconds: number;
  /** Messages to one number per day. */
  perNumberDaily: number;
  /** Messages (recipients) the account may submit per day. */
  dailyMessages: number;
}

export const DEFAULT_LIMITS: AccountLimits = { perNumberIntervalSeconds: 60, perNumberDaily: 10, dailyMessages: 1_000_000 };

export const limitsOf = (account: Pick<Account, 'limits'>): AccountLimits => ({ ...DEFAULT_LIMITS, ...account.limits });

/** One API key of an account; the key itself is never stored, only its SHA-256. */
export interface ApiKeyInfo {
  hash: string;
  createTime: string;
  revokeTime?: string;
}

export interface Account {
  accountId: string;
  name: string;
  /**
   * Points (条) the account may still spend; the vendors call it remainPoint.
   * Moves only together with a ledger entry (lib/stores/ledger.ts).
   */
  balance: number;
  limits?: Partial<AccountLimits>;
  /** keyId → key; authentication goes through the apikey items, this lists and revokes them. */
  keys?: Record<string, ApiKeyInfo>;
  /** Providers in failover order. */
  route: ProviderName[];
  createTime: string;
  /** Where receipts and replies are POSTed, unless a task names its own URL. */
  callbackUrl?: string;
  /** Signs callbacks (HMAC-SHA256); never leaves qunfa otherwise. */
  callbackSecret?: string;
  /** Operators also see the providers' own balances. */
  operator?: boolean;
  /**
   * The secret of the vendor-compatible routes (SUBMAIL appkey, SendCloud
   * smsKey, 10658 appKey, with the account id as appid/smsUser/appId). Those
   * vendors sign with a shared secret, so qunfa must hold it as is, unlike
   * API keys, which it keeps only hashed.
   */
  compatKey?: string;
  /** Receipts and replies of tasks submitted through a vendor-compatible route go out in that vendor's push format. */
  vendorPushes?: boolean;
}

/** What a task keeps of its template: per-vendor ids and the values for its variables. */
export interface TaskTemplate {
  templateId: string;
  vendorTemplateIds: Partial<Record<ProviderName, string>>;
  vars: Record<string, string>;
  /**
   * Set when the members of the task's contact lists fill the variables the
   * task's vars leave open: each recipient gets its own text, sent through a
   * vendor's per-recipient API. `text` is the template as written.
   */
  perRecipient?: { text: string; variables: string[] };
}

/** Settled recipients per provider: which provider sent which messages. */
export type ProviderCounts = Partial<Record<ProviderName, Partial<StatusCounts>>>;

export interface Task {
  taskId: string;
  accountId: string;
  status: TaskStatus;
  name?: string;
  tag?: string;
  /** The text sent (rendered from the template when there is one), 【签名】 included. */
  content: string;
  template?: TaskTemplate;
  segments: number;
  fee: number;
  memberCount: number;
  invalidCount: number;
  duplicateCount: number;
  suppressedCount?: number;
  callbackUrl?: string;
  route: ProviderName[];
  chunkCount: number;
  chunksSettled: number;
  counts: StatusCounts;
  byProvider: ProviderCounts;
  createTime: string;
  /** When the task may start; present only while the task waits for fan-out. */
  dueAt?: string;
  /** The time the caller asked for (UTC ISO), for scheduled tasks. */
  sendAt?: string;
  startTime?: string;
  endTime?: string;
  /** Set once every chunk of the task has been put on the dispatch queue. */
  fannedOut?: boolean;
  /** Contact lists the task sends to: their members when it was accepted, merged and de-duplicated. */
  lists?: { listId: string; name: string }[];
  /** Recipients given inline (`to`), in the first `inlineChunks` chunks; list chunks follow. */
  inlineCount?: number;
  inlineChunks?: number;
  /** List fan-out progress: every member up to this phone is in a chunk. */
  listCursor?: string;
  /** List members put in chunks so far. */
  listMembers?: number;
  /** Points those members cost (per-recipient texts differ in length). */
  listPoints?: number;
  /** When list fan-out last made progress: the scheduler leaves a task that is moving alone. */
  fanOutAt?: string;
  /** Set when fan-out has read every list to its end. */
  listsDone?: boolean;
  /** memberCount is exact (a list task's count is an estimate until its fan-out ends). */
  memberCountExact?: boolean;
  /** A task submitted through a vendor-compatible route keeps what that vendor's query answers. */
  compat?: { vendor: 'sendcloud'; taskId: number; contactListName: string; senderName: string; templateId: string; labelId?: string } | { vendor: 'submail' | 'zywx' };
  /** The China day whose daily usage the task counts against (its send day). */
  usageDay?: string;
  /** The per-number limits in force when the task was accepted; dispatch applies them. */
  numberLimits?: Pick<AccountLimits, 'perNumberIntervalSeconds' | 'perNumberDaily'>;
}

export interface Chunk {
  taskId: string;
  chunkNo: number;
  status: ChunkStatus;
  phones: string[];
  provider?: ProviderName;
  /** Identifies the dispatcher run that owns a `sending` chunk. */
  attempt?: string;
  leaseUntil?: number;
  /** When the current provider was first asked (ms): bounds a safe idempotent resend. */
  providerSince?: number;
  settleTime?: string;
  code?: string;
  /** For a chunk cut from contact lists: the list position after its last member. */
  listCursor?: string;
  /** Per-recipient tasks: each phone's template values, and the segments its text costs. */
  vars?: Record<string, Record<string, string>>;
  segs?: Record<string, number>;
}

export interface Message {
  taskId: string;
  phone: string;
  chunkNo: number;
  status: SettledMessageStatus;
  provider: ProviderName;
  providerMessageId?: string;
  code?: string;
  detail?: string;
  submitTime: string;
}
