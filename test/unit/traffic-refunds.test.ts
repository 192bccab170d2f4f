// The demo traffic's refunds: about 3 % of ordinary orders, minutes after the sale, mostly
// matching their order, now and then on purpose not.
import { describe, expect, it } from 'vitest';
import { createTrafficModel } from '../../src/simulate/traffic-model.js';

interface Envelope {
  event_type: string;
  data: Record<string, unknown>;
}

describe('simulated refunds', () => {
  it('refund about 3 % of orders some minutes later, a few of them anomalous', () => {
    const model = createTrafficModel({ shows: 5, seed: 11, malformedShare: 0 });
    const sold = new Map<string, { at: number; data: Record<string, unknown> }>();
    const refunds: { at: number; data: Record<string, unknown> }[] = [];
    for (let step = 0; step < 60_000; step++) {
      const t = step / 50; // 50 records a second for 20 minutes
      const e = model.next(t) as Envelope;
      if (e.event_type === 'ticket_sale') sold.set(String(e.data.order_id), { at: t, data: e.data });
      if (e.event_type === 'ticket_refund') refunds.push({ at: t, data: e.data });
    }
    const share = refunds.length / sold.size;
    expect(share).toBeGreaterThan(0.015);
    expect(share).toBeLessThan(0.04);
    const matching = refunds.filter((r) => {
      const order = sold.get(String(r.data.order_id));
      return (
        order !== undefined &&
        order.data.currency === r.data.currency &&
        Number(r.data.quantity) <= Number(order.data.quantity) &&
        r.at - order.at >= 60
      );
    });
    expect(matching.length / refunds.length).toBeGreaterThan(0.85);
    expect(matching.length).toBeLessThan(refunds.length);
    expect(new Set(refunds.map((r) => r.data.reason))).toContain('chargeback');
  });
});

describe('simulated shows', () => {
  it('open new shows on a schedule and as running ones sell out, each sold only from its on-sale', () => {
    const model = createTrafficModel({ shows: 2, seed: 3, malformedShare: 0 });
    const opened: { id: string; at: number; onSaleAt: number }[] = [];
    const firstSale = new Map<string, number>();
    for (let step = 0; step < 2 * 60 * 20 * 50; step++) {
      const t = step / 50;
      if (step % 50 === 0)
        for (const show of model.openDueShows(t))
          opened.push({ id: show.id, at: t, onSaleAt: show.onSaleAt });
      const e = model.next(t) as Envelope;
      const show = String(e.data.event_id);
      if (e.event_type === 'ticket_sale' && !firstSale.has(show)) firstSale.set(show, t);
    }
    // 40 minutes: one every 5 minutes at least, numbered on from the first two.
    expect(opened.length).toBeGreaterThanOrEqual(7);
    expect(opened.slice(0, 2).map((o) => o.id)).toEqual(['show-003', 'show-004']);
    for (const o of opened) {
      expect(o.onSaleAt).toBe(o.at + 10);
      if (firstSale.has(o.id)) expect(firstSale.get(o.id)!).toBeGreaterThanOrEqual(o.onSaleAt);
    }
    expect(opened.filter((o) => firstSale.has(o.id)).length).toBeGreaterThan(3);
  });
});
