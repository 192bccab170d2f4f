/**
 * A request body made once and filled in per request: the load clients of `bench:pipeline`
 * share the two cores with the API, the broker and ClickHouse, so what they spend per event is
 * taken from the system under test. Building 1,000 events as objects and `JSON.stringify`-ing
 * them cost the clients 6.0-7.0 µs per event (bench:pipeline, 2 × AMD EPYC); filling a template
 * made from the same events costs a fraction of that, and sends the same bytes but for the
 * values filled in.
 *
 * The template is the JSON text of events whose variable values are markers: `@@ID@@` (a new
 * UUID at each occurrence), `@@TS@@` (the request's timestamp) and `@@TAG@@` (the request's tag).
 */
import { randomUUID } from 'node:crypto';

export const ID = '@@ID@@';
export const TS = '@@TS@@';
export const TAG = '@@TAG@@';

type Slot = 'id' | 'ts' | 'tag';
const SLOT_OF: Record<string, Slot> = { [ID]: 'id', [TS]: 'ts', [TAG]: 'tag' };

/** Text between the markers, and which value follows each piece but the last. */
export interface BodyTemplate {
  pieces: string[];
  slots: Slot[];
}

/** The template of `events`' JSON text, split at its markers. */
export function bodyTemplate(events: unknown[]): BodyTemplate {
  const parts = JSON.stringify(events).split(/(@@ID@@|@@TS@@|@@TAG@@)/);
  const pieces: string[] = [];
  const slots: Slot[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 0) pieces.push(parts[i]!);
    else slots.push(SLOT_OF[parts[i]!]!);
  }
  return { pieces, slots };
}

/** One request's body: every `@@ID@@` a new UUID, the timestamp and the tag as given. */
export function fillBody(template: BodyTemplate, timestamp: string, tag: string): string {
  const { pieces, slots } = template;
  let body = pieces[0]!;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    body += (slot === 'id' ? randomUUID() : slot === 'ts' ? timestamp : tag) + pieces[i + 1]!;
  }
  return body;
}
