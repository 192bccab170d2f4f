/**
 * Sorts a failed Kafka send by what a retry can do, from kafkajs's error types and the broker's
 * error code (never the message text):
 * - `too_large`: MESSAGE_TOO_LARGE (10) or RECORD_LIST_TOO_LARGE (18): the same request will
 *   always be refused; a smaller one may pass;
 * - `permanent`: any other protocol error the broker marks non-retriable;
 * - `transient`: everything else (no broker, timeouts, leader elections, retries exhausted on
 *   retriable errors).
 * kafkajs wraps errors (`cause`, and `originalError` once retries are exhausted): the chain is
 * walked.
 */
export type KafkaFailure = 'too_large' | 'permanent' | 'transient';

const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

interface KafkaErrorLike {
  name?: unknown;
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

export function classifyKafkaError(err: unknown): KafkaFailure {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const e = current as KafkaErrorLike;
    if (typeof e.type === 'string' && TOO_LARGE.has(e.type)) return 'too_large';
    if (e.name === 'KafkaJSProtocolError' && e.retriable === false) return 'permanent';
    current = e.cause ?? e.originalError;
  }
  return 'transient';
}
