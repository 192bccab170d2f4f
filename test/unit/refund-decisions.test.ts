// The refund booker's rules, without ClickHouse: what counts, what waits, what is an anomaly.
import { describe, expect, it } from 'vitest';
import {
  decideRefunds,
  money,
  moneyText,
  type OrderLine,
  type RefundCandidate,
} from '../../src/refunds/refund-decisions.js';

const line = (over: Partial<OrderLine> = {}): OrderLine => ({
  order_id: 'o-1',
  event_id: 'show-1',
  category: 'GA',
  currency: 'EUR',
  quantity: 4,
  amount: '200.0000',
  ...over,
});

let seq = 0;
const refund = (over: Partial<RefundCandidate> = {}): RefundCandidate => ({
  id: `r-${String(++seq).padStart(3, '0')}`,
  event_id: 'show-1',
  order_id: 'o-1',
  category: 'GA',
  quantity: 1,
  amount: '50.0000',
  currency: 'EUR',
  timestamp_ms: 1_000 + seq,
  age_seconds: 10,
  ...over,
});

const WAIT = 24 * 3600;

describe('money', () => {
  it('is exact to 4 decimals both ways', () => {
    expect(money('12.5')).toBe(125_000n);
    expect(money('0.0001')).toBe(1n);
    expect(money('999999999999.9999')).toBe(9_999_999_999_999_999n);
    expect(moneyText(money('0.1') + money('0.2'))).toBe('0.3000');
    expect(moneyText(-15n)).toBe('-0.0015');
    expect(() => money('abc')).toThrow(/not a decimal/);
  });
});

describe('decideRefunds', () => {
  it('books a refund that fits its order', () => {
    const r = refund({ quantity: 2, amount: '100' });
    expect(decideRefunds([r], [line()], [], WAIT).get(r.id)).toEqual({ outcome: 'booked' });
  });

  it('books refunds until the order is used up, in the order of their timestamps', () => {
    // Arrival order reversed: the earlier refund by timestamp is decided first.
    const late = refund({ quantity: 3, amount: '150', timestamp_ms: 5_000 });
    const early = refund({ quantity: 2, amount: '100', timestamp_ms: 4_000 });
    const d = decideRefunds([late, early], [line()], [], WAIT);
    expect(d.get(early.id)).toEqual({ outcome: 'booked' });
    expect(d.get(late.id)).toMatchObject({
      outcome: 'anomaly',
      anomaly: 'more_tickets_than_remain',
      detail: 'order o-1 has 2 of 4 GA tickets left; the refund returns 3',
    });
  });

  it('counts what earlier passes booked', () => {
    const r = refund({ quantity: 1, amount: '60' });
    const d = decideRefunds(
      [r],
      [line()],
      [{ order_id: 'o-1', category: 'GA', quantity: 1, amount: '150.0000' }],
      WAIT,
    );
    expect(d.get(r.id)).toMatchObject({
      outcome: 'anomaly',
      anomaly: 'more_money_than_remains',
      detail: 'order o-1 has 50.0000 of 200.0000 EUR left; the refund returns 60.0000',
    });
  });

  it('waits for an order it has not seen, then gives up after the wait', () => {
    const young = refund({ order_id: 'o-404', age_seconds: 60 });
    const old = refund({ order_id: 'o-405', age_seconds: WAIT });
    const d = decideRefunds([young, old], [line()], [], WAIT);
    expect(d.get(young.id)).toMatchObject({ outcome: 'pending', anomaly: 'order_not_seen' });
    expect(d.get(old.id)).toMatchObject({ outcome: 'anomaly', anomaly: 'order_not_seen' });
  });

  it('names another show, category or currency', () => {
    const show = refund({ event_id: 'show-2' });
    const category = refund({ category: 'VIP' });
    const currency = refund({ currency: 'USD' });
    const d = decideRefunds([show, category, currency], [line()], [], WAIT);
    expect(d.get(show.id)).toMatchObject({
      anomaly: 'other_show',
      detail: 'order o-1 was sold for show-1, not show-2',
    });
    expect(d.get(category.id)).toMatchObject({
      anomaly: 'other_category',
      detail: 'order o-1 has no VIP tickets (it has GA)',
    });
    expect(d.get(currency.id)).toMatchObject({
      anomaly: 'other_currency',
      detail: 'order o-1 was paid in EUR, the refund is in USD',
    });
  });

  it('an anomaly takes nothing from the order', () => {
    const tooMany = refund({ quantity: 9, timestamp_ms: 1 });
    const fits = refund({ quantity: 4, amount: '200', timestamp_ms: 2 });
    const d = decideRefunds([tooMany, fits], [line()], [], WAIT);
    expect(d.get(tooMany.id)?.outcome).toBe('anomaly');
    expect(d.get(fits.id)).toEqual({ outcome: 'booked' });
  });

  it('adds up an order sold in several sale records of one category', () => {
    const r = refund({ quantity: 6, amount: '300' });
    const d = decideRefunds([r], [line(), line({ quantity: 2, amount: '100' })], [], WAIT);
    expect(d.get(r.id)).toEqual({ outcome: 'booked' });
  });
});
