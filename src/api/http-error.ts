/**
 * The one HTTP error type and its mapping to `{ error: { code, message, details? } }`.
 * hono's own 4xx (a body that is not JSON, another media type) keep their status. Postgres
 * errors are mapped by what a retry can do (src/clients/postgres-errors.ts):
 * unavailable → 503 with Retry-After, a conflict → 409, a missing reference → 404, bad data →
 * 400. Anything else is a bug: logged with its cause and answered 500.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { REFUSALS, type ShowRefusal } from '../auth/show-access.js';
import { classifyPostgresError } from '../clients/postgres-errors.js';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
    /** What caused a 5xx, logged with it. */
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** The error for a show the caller may not use (src/auth/show-access.ts): 404 unknown, 403 another organizer's. */
export function showRefusalError(refusal: ShowRefusal): HttpError {
  const { status, code } = REFUSALS[refusal.kind];
  return new HttpError(status, code, refusal.message);
}

export interface ErrorHandlerOptions {
  /** `Retry-After` seconds for a 503 caused by an unavailable dependency. */
  retryAfterSeconds?: number;
}

/** An `app.onError` handler. */
export function createErrorHandler(logger: Logger, options: ErrorHandlerOptions = {}) {
  const retryAfter = String(options.retryAfterSeconds ?? 5);
  return function onError(err: Error, c: Context): Response {
    const mapped =
      err instanceof HttpError
        ? err
        : err instanceof HTTPException
          ? fromHono(err)
          : fromPostgres(err, retryAfter);
    if (mapped) {
      // Every 5xx is logged once, with what caused it.
      if (mapped.status >= 500) {
        const cause = mapped === err ? (mapped.cause ?? err) : err;
        logger.warn(
          { err: cause, path: c.req.path, status: mapped.status, code: mapped.code },
          mapped.message,
        );
      }
      for (const [name, value] of Object.entries(mapped.headers)) c.header(name, value);
      const body = {
        error: {
          code: mapped.code,
          message: mapped.message,
          ...(mapped.details ? { details: mapped.details } : {}),
        },
      };
      return c.json(body, mapped.status);
    }
    logger.error({ err, path: c.req.path }, 'unhandled error');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  };
}

/**
 * hono's own rejections, thrown before a route runs: its body validator refuses a body that
 * is not JSON (400) or has another media type (415). Both are the client's; neither is a 500.
 */
function fromHono(err: HTTPException): HttpError {
  if (err.status === 415) {
    return new HttpError(415, 'unsupported_media_type', 'send the body as application/json');
  }
  if (err.status === 400 && /json/i.test(err.message)) {
    return new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
  if (err.status >= 500) return new HttpError(500, 'internal', 'internal error', undefined, {}, err);
  return new HttpError(err.status, 'invalid_request', err.message);
}

function fromPostgres(err: Error, retryAfter: string): HttpError | undefined {
  switch (classifyPostgresError(err)) {
    case 'unavailable':
      return new HttpError(503, 'postgres_unavailable', 'Postgres is unavailable; retry later', undefined, {
        'Retry-After': retryAfter,
      });
    case 'conflict':
      return new HttpError(409, 'conflict', 'a row with this key already exists');
    case 'missing':
      return new HttpError(404, 'not_found', 'a referenced row does not exist');
    case 'invalid':
      return new HttpError(400, 'invalid', 'a value is out of range for its column');
    default:
      return undefined;
  }
}
