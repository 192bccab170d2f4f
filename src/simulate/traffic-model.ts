/**
 * A seeded model of live ticketing traffic: shows with an on-sale burst that decays,
 * steady browsing, system metrics, a few fraud-like patterns and a small share of malformed
 * records. Deterministic for a seed except for event ids (idempotency keys must be new each
 * run, or a second run would be deduplicated away).
 */
import { randomUUID } from 'node:crypto';
import { Faker, en } from '@faker-js/faker';

export interface TrafficOptions {
  shows: number;
  seed: number;
  /** Share of records deliberately malformed, 0..1. */
  malformedShare: number;
}

interface Show {
  id: string;
  country: string;
  /** Currency of its prices (and of its sales). */
  currency: string;
  /** Seconds after the start when this show goes on sale. */
  onSaleAt: number;
  /** Seats per category, and how many this run has sold (it never sells beyond capacity). */
  categories: { name: string; price: number; capacity: number; sold: number }[];
}

const COUNTRIES = ['DE', 'FR', 'GB', 'ES', 'IT', 'NL', 'US', 'SE', 'PL', 'AT'];
const FAR_AWAY = ['BR', 'JP', 'AU', 'ZA', 'IN'];
const CURRENCY: Record<string, string> = { GB: 'GBP', US: 'USD', SE: 'SEK', PL: 'PLN' };
/** The interactions of a visit, weighted by repetition (bench/queries-load.ts reuses them). */
export const FUNNEL = [
  'page_view',
  'page_view',
  'page_view',
  'click',
  'click',
  'add_to_cart',
  'checkout_started',
] as const;

export type Kind = 'ticket_sale' | 'ticket_refund' | 'user_interaction' | 'system_metric';

/** Share of ordinary orders refunded some minutes later, and of those refunds sent wrong on purpose. */
export const REFUND_SHARE = 0.03;
export const ANOMALOUS_REFUND_SHARE = 0.05;
/** A new show opens at least this often, and never more than MAX_SHOWS in all. */
export const OPEN_EVERY_SECONDS = 300;
export const MAX_SHOWS = 40;

export function createTrafficModel(options: TrafficOptions) {
  const faker = new Faker({ locale: [en] });
  faker.seed(options.seed);
  /** Show number `i` (0-based), going on sale at `onSaleAt` seconds into the run. */
  function makeShow(i: number, onSaleAt: number): Show {
    return {
      id: `show-${String(i + 1).padStart(3, '0')}`,
      country: COUNTRIES[i % COUNTRIES.length]!,
      currency: CURRENCY[COUNTRIES[i % COUNTRIES.length]!] ?? 'EUR',
      onSaleAt,
      categories: [
        // Capacities small enough that the on-sale burst of the demo crosses 80 % within minutes.
        { name: 'VIP', price: faker.number.int({ min: 150, max: 400 }), capacity: 2_000, sold: 0 },
        { name: 'GA', price: faker.number.int({ min: 40, max: 120 }), capacity: 20_000, sold: 0 },
        { name: 'Balcony', price: faker.number.int({ min: 60, max: 150 }), capacity: 8_000, sold: 0 },
      ],
    };
  }
  const shows: Show[] = Array.from({ length: options.shows }, (_, i) => makeShow(i, i * 10));
  /** Shows that have had a successor opened for them (they sold nearly out). */
  const succeeded = new Set<string>();
  let lastOpened = 0;

  // Ordinary buyers, each buying from one home country. The pool is large enough that an
  // ordinary buyer placing more than five orders in a minute is vanishingly rare.
  const users = Array.from({ length: 50_000 }, (_, i) => ({
    id: `user-${i}`,
    country: COUNTRIES[i % COUNTRIES.length]!,
  }));
  // Fraud-like actors, named so alerts on them are easy to tell apart.
  const velocityUser = 'user-velocity-1';
  const whales = Array.from({ length: 20 }, (_, i) => `user-whale-${i}`);
  // Orders to refund, each at its time (seconds into the run), oldest first.
  const refunds: {
    at: number;
    show: Show;
    order: Record<string, unknown>;
    category: Show['categories'][number];
  }[] = [];
  // Travellers buy at home, then from far away, then at home again...
  const travellers = Array.from({ length: 30 }, (_, i) => ({ id: `user-traveller-${i}`, purchases: 0 }));

  /** Demand weight of a show at `t` seconds: a burst at on-sale that decays, plus a floor. */
  function weight(show: Show, t: number): number {
    const since = t - show.onSaleAt;
    return since < 0 ? 0.05 : 0.2 + 5 * Math.exp(-since / 30);
  }

  function pickShow(t: number): Show {
    const weights = shows.map((s) => weight(s, t));
    let r = faker.number.float({ min: 0, max: weights.reduce((a, b) => a + b, 0) });
    for (let i = 0; i < shows.length; i++) {
      r -= weights[i]!;
      if (r <= 0) return shows[i]!;
    }
    return shows[shows.length - 1]!;
  }

  function envelope(eventType: Kind, data: Record<string, unknown>) {
    return { id: randomUUID(), event_type: eventType, timestamp: new Date().toISOString(), version: 1, data };
  }

  function sale(t: number, pattern: 'normal' | 'large' | 'velocity' | 'far') {
    const show = pickShow(t);
    // Before its on-sale a show is only browsed (and may not be registered yet).
    if (t < show.onSaleAt) return interaction(t);
    const wanted = pattern === 'large' ? show.categories[0]! : faker.helpers.arrayElement(show.categories);
    const quantity =
      pattern === 'large' ? faker.number.int({ min: 80, max: 100 }) : faker.number.int({ min: 1, max: 4 });
    // A sold-out category sends the buyer to another; a sold-out show only gets browsing.
    const category = [wanted, ...show.categories].find((c) => c.sold + quantity <= c.capacity);
    if (category === undefined) return interaction(t);
    category.sold += quantity;
    // Who buys, and from where. Ordinary buyers buy at home. The fraud actors each buy from one
    // place, so only the rule they are planted for fires for them; travellers alternate between
    // home and a far-away country (the unusual_location rule).
    const buyer = faker.helpers.arrayElement(users);
    let user = buyer.id;
    let country = buyer.country;
    if (pattern === 'velocity') {
      user = velocityUser;
      country = 'NL';
    } else if (pattern === 'large') {
      user = faker.helpers.arrayElement(whales);
      country = 'GB';
    } else if (pattern === 'far') {
      const traveller = faker.helpers.arrayElement(travellers);
      user = traveller.id;
      country = traveller.purchases++ % 2 === 1 ? faker.helpers.arrayElement(FAR_AWAY) : 'DE';
    }
    const order = envelope('ticket_sale', {
      event_id: show.id,
      order_id: `ord-${randomUUID()}`,
      user_id: user,
      category: category.name,
      quantity,
      amount: (quantity * category.price).toFixed(2),
      currency: show.currency,
      channel: faker.helpers.weightedArrayElement([
        { weight: 6, value: 'web' },
        { weight: 3, value: 'app' },
        { weight: 1, value: 'box_office' },
        { weight: 1, value: 'partner' },
      ]),
      location: { country, city: faker.location.city() },
    });
    if (pattern === 'normal' && faker.number.float() < REFUND_SHARE) {
      const at = t + faker.number.int({ min: 60, max: 300 });
      const later = refunds.findIndex((r) => r.at > at);
      refunds.splice(later < 0 ? refunds.length : later, 0, { at, show, order: order.data, category });
    }
    return order;
  }

  /**
   * A refund of an earlier order: all or part of its tickets and money, mostly at the buyer's
   * request, a few chargebacks; now and then one that does not match the order (more tickets than
   * it had, another currency, or an order never sold), which ClickHouse keeps as an anomaly.
   */
  function refund(due: (typeof refunds)[number]) {
    const { order, show, category } = due;
    const sold = Number(order.quantity);
    const quantity = faker.number.int({ min: 1, max: sold });
    const data: Record<string, unknown> = {
      event_id: show.id,
      order_id: order.order_id,
      user_id: order.user_id,
      category: order.category,
      quantity,
      amount: ((Number(order.amount) * quantity) / sold).toFixed(2),
      currency: order.currency,
      channel: order.channel,
      reason: faker.helpers.weightedArrayElement([
        { weight: 14, value: 'customer_request' },
        { weight: 2, value: 'chargeback' },
        { weight: 2, value: 'organizer' },
        { weight: 1, value: 'fraud' },
        { weight: 1, value: 'other' },
      ]),
    };
    if (faker.number.float() < ANOMALOUS_REFUND_SHARE) {
      switch (faker.number.int({ max: 2 })) {
        case 0:
          data.quantity = sold + 1;
          break;
        case 1:
          data.currency = show.currency === 'EUR' ? 'USD' : 'EUR';
          break;
        default:
          data.order_id = `ord-${randomUUID()}`;
      }
    } else {
      // Refunded seats go back on sale.
      category.sold -= quantity;
    }
    return envelope('ticket_refund', data);
  }

  function interaction(t: number) {
    const show = pickShow(t);
    const burst = t - show.onSaleAt >= 0 && t - show.onSaleAt < 60;
    const action = burst && faker.number.float() < 0.2 ? 'queue_joined' : faker.helpers.arrayElement(FUNNEL);
    const user = faker.helpers.arrayElement(users).id;
    return envelope('user_interaction', {
      event_id: show.id,
      user_id: user,
      session_id: `sess-${user}-${Math.floor(t / 600)}`,
      action,
      page: `/shows/${show.id}`,
      referrer: faker.helpers.arrayElement(['', 'https://search.example', 'https://social.example']),
    });
  }

  function metric() {
    const name = faker.helpers.arrayElement(['api.latency_ms', 'checkout.queue_depth', 'payment.latency_ms']);
    const value =
      name === 'checkout.queue_depth'
        ? faker.number.int({ max: 500 })
        : faker.number.float({ min: 2, max: 250 });
    return envelope('system_metric', {
      name,
      value,
      unit: name.endsWith('_ms') ? 'ms' : 'count',
      tags: { host: `api-${faker.number.int({ min: 1, max: 3 })}` },
    });
  }

  /** A deliberately broken record, in one of several realistic ways. */
  function malformed(t: number): unknown {
    const good = sale(t, 'normal') as { data: Record<string, unknown> } & Record<string, unknown>;
    switch (faker.number.int({ max: 4 })) {
      case 0:
        return { ...good, data: { ...good.data, quantity: 0 } };
      case 1:
        return { ...good, data: { ...good.data, currency: 'EURO' } };
      case 2:
        return { ...good, timestamp: 'yesterday' };
      case 3:
        // An event type the API does not know ('refund' was one until ticket_refund existed).
        return { ...good, event_type: 'refund_request' };
      default:
        return { ...good, id: 'not-a-uuid' };
    }
  }

  return {
    shows,
    velocityUser,
    whales,
    travellers: travellers.map((t) => t.id),
    /**
     * New shows due at `t` seconds into the run, added to `shows`, on sale 10 s later (time to
     * register them): one for each running show that sold 95 % of its seats, and one every
     * OPEN_EVERY_SECONDS at least, up to MAX_SHOWS, so a demo left running keeps moving.
     */
    openDueShows(t: number): Show[] {
      const opened: Show[] = [];
      const open = () => {
        if (shows.length >= MAX_SHOWS) return;
        const show = makeShow(shows.length, t + 10);
        shows.push(show);
        opened.push(show);
        lastOpened = t;
      };
      for (const show of [...shows]) {
        const sold = show.categories.reduce((n, c) => n + c.sold, 0);
        const capacity = show.categories.reduce((n, c) => n + c.capacity, 0);
        if (!succeeded.has(show.id) && sold >= 0.95 * capacity) {
          succeeded.add(show.id);
          open();
        }
      }
      if (t - lastOpened >= OPEN_EVERY_SECONDS) open();
      return opened;
    },
    /** The next record at `t` seconds into the run. */
    next(t: number): unknown {
      if (refunds.length > 0 && refunds[0]!.at <= t) return refund(refunds.shift()!);
      const r = faker.number.float();
      if (r < options.malformedShare) return malformed(t);
      const kind = faker.number.float();
      if (kind < 0.45) {
        const p = faker.number.float();
        return sale(t, p < 0.002 ? 'large' : p < 0.006 ? 'far' : 'normal');
      }
      if (kind < 0.9) return interaction(t);
      return metric();
    },
    /** The velocity pattern: this user's next purchase (the caller paces it). */
    velocitySale(t: number): unknown {
      return sale(t, 'velocity');
    },
  };
}
