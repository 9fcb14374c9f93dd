/**
 * Every error qunfa returns carries a stable machine code (clients branch on it)
 * and a human message (people read it). `status` is the HTTP status when the
 * error reaches an API route; `field` names the request field at fault.
 */
export class QunfaError extends Error {
  readonly code: string;
  readonly status: number;
  readonly field?: string;

  constructor(code: string, message: string, status = 400, field?: string) {
    super(message);
    this.name = 'QunfaError';
    this.code = code;
    this.status = status;
    if (field !== undefined) this.field = field;
  }
}

export const badRequest = (code: string, message: string, field?: string): QunfaError =>
  new QunfaError(code, message, 400, field);

export const notFound = (what: string): QunfaError =>
  new QunfaError('NOT_FOUND', `${what} not found`, 404);

export const unauthorized = (message = 'Missing or invalid API key'): QunfaError =>
  new QunfaError('UNAUTHORIZED', message, 401);
