import { describe, expect, it } from 'vitest';
import { bodyTemplate, fillBody, ID, TAG, TS } from '../../bench/body-template.js';
import { taggedEvents } from '../../bench/tagged-events.js';
import { isAccepted, validateEvent } from '../../src/events/validate-event.js';

describe('bench body template', () => {
  const events = [...taggedEvents('sale', TAG, 3), ...taggedEvents('interaction', TAG, 2)] as {
    id: string;
    timestamp: string;
    data: Record<string, unknown>;
  }[];
  for (const e of events) {
    e.id = ID;
    e.timestamp = TS;
  }
  const template = bodyTemplate(events);

  it('fills every marker: a new UUID per id, the timestamp and the tag', () => {
    const timestamp = '2026-12-07T05:00:00.000Z';
    const filled = JSON.parse(fillBody(template, timestamp, 'show-7')) as typeof events;
    expect(filled).toHaveLength(5);
    expect(new Set(filled.map((e) => e.id)).size).toBe(5);
    for (const e of filled) {
      expect(e.timestamp).toBe(timestamp);
      expect(e.data.event_id).toBe('show-7');
      expect(JSON.stringify(e)).not.toMatch(/@@/);
      expect(isAccepted(validateEvent(e, Date.parse(timestamp)))).toBe(true);
    }
  });

  it('gives each request ids of its own', () => {
    const ids = (body: string) => (JSON.parse(body) as { id: string }[]).map((e) => e.id);
    const a = ids(fillBody(template, new Date().toISOString(), 'a'));
    const b = ids(fillBody(template, new Date().toISOString(), 'a'));
    expect(a.filter((id) => b.includes(id))).toEqual([]);
  });
});
