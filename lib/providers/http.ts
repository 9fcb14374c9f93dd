/**
 * One HTTP POST to a vendor, reduced to what failover needs to know: did the
 * vendor answer (status + body), was the request certainly never delivered
 * (refused/unresolvable: safe to try elsewhere), or might it have been (timeout,
 * reset: never resend).
 */
export type HttpResult =
  | { kind: 'response'; status: number; body: string }
  | { kind: 'not-sent'; reason: string }
  | { kind: 'maybe-sent'; reason: string };

const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL']);

export async function postForm(url: string, form: Record<string, string>, timeoutMs: number): Promise<HttpResult> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { kind: 'response', status: res.status, body: await res.text() };
  } catch (e) {
    const code = errorCode(e);
    if (code && NEVER_SENT.has(code)) return { kind: 'not-sent', reason: code };
    return { kind: 'maybe-sent', reason: code ?? (e instanceof Error ? e.name : 'error') };
  }
}

function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 5; depth++) {
    const c = cur as { code?: unknown; cause?: unknown; name?: unknown };
    if (typeof c.code === 'string') return c.code;
    if (c.name === 'TimeoutError') return 'TIMEOUT';
    cur = c.cause;
  }
  return undefined;
}
