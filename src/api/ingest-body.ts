/**
 * Turns a request body into records: one JSON object, a JSON array, or NDJSON. A body that
 * is not JSON at all is an HttpError; in NDJSON each unparseable line becomes a record of its
 * own that fails validation, so the good lines still go through.
 */
import { HttpError } from './http-error.js';

/**
 * One record as received: its parsed value (or the parse error) and, where the body had it
 * as a piece of text of its own (a single object, an NDJSON line), that text. An array item's
 * text is written only if the record is quarantined (`recordText`): most records are
 * accepted, and re-serialising every one cost about 1.5 µs per event.
 */
export interface RawRecord {
  text?: string;
  value?: unknown;
  parseError?: string;
}

export const NDJSON = 'application/x-ndjson';

/** The body's records; throws HttpError 400/413/415. */
export function parseIngestBody(
  contentType: string | undefined,
  text: string,
  maxRecords: number,
): RawRecord[] {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let records: RawRecord[];
  if (mediaType === 'application/json') {
    records = parseJson(text);
  } else if (mediaType === NDJSON) {
    records = text
      .split('\n')
      .map((line) => line.replace(/\r$/, ''))
      .filter((line) => line.trim() !== '')
      .map(parseLine);
  } else {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `send application/json or ${NDJSON}, not '${mediaType || 'nothing'}'`,
    );
  }
  if (records.length === 0) throw new HttpError(400, 'empty_body', 'the body holds no events');
  if (records.length > maxRecords) {
    throw new HttpError(
      413,
      'too_many_records',
      `${records.length} records; at most ${maxRecords} per request`,
    );
  }
  return records;
}

function parseJson(text: string): RawRecord[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(value)) return value.map(arrayItem);
  if (typeof value === 'object' && value !== null) return [{ text, value }];
  throw new HttpError(400, 'invalid_body', 'the body must be an event object or an array of events');
}

function arrayItem(item: unknown): RawRecord {
  return { value: item };
}

function parseLine(line: string): RawRecord {
  try {
    return { text: line, value: JSON.parse(line) };
  } catch (err) {
    return { text: line, parseError: `invalid JSON: ${(err as Error).message}` };
  }
}

/** A record's raw text for the quarantine. */
export function recordText(record: RawRecord): string {
  return record.text ?? rawText(record.value);
}

/** An array item's text; absurdly deep nesting cannot be re-serialised. */
function rawText(item: unknown): string {
  try {
    return JSON.stringify(item) ?? 'null';
  } catch {
    return '(not re-serialisable: nested too deeply)';
  }
}
