/**
 * Whether a refund counts: the rules of the refund booker (src/refunds/refund-booker.ts), with no
 * I/O, so that each is tested on its own (test/unit/refund-decisions.test.ts). Migration 0016
 * says where the decisions go and how the views read them.
 *
 * A refund is booked when its order was sold for its show, in its category and currency, and at
 * least its tickets and its money remain of that order after the refunds booked before it. The
 * refunds of one order are decided in the order of their own timestamps (then ids), so which of
 * two competing refunds counts does not depend on when each arrived.
 */

/** Why a refund does not count. */
export type Anomaly =
  | 'order_not_seen'
  | 'other_show'
  | 'other_category'
  | 'other_currency'
  | 'more_tickets_than_remain'
  | 'more_money_than_remains';

/**
 * What the booker decided: booked (counts), pending (the order is not there yet; decided again on
 * the next pass), or an anomaly (never counts).
 */
export type Decision =
  | { outcome: 'booked' }
  | { outcome: 'pending'; anomaly: 'order_not_seen'; detail: string }
  | { outcome: 'anomaly'; anomaly: Anomaly; detail: string };

/** A refund waiting for a decision (a row of `ticket_refunds`). */
export interface RefundCandidate {
  id: string;
  event_id: string;
  order_id: string;
  category: string;
  quantity: number;
  /** Exact decimal text, e.g. "12.5000". */
  amount: string;
  currency: string;
  timestamp_ms: number;
  /** Seconds since ClickHouse counted it. */
  age_seconds: number;
}

/** What an order sold in one show, category and currency (sales_by_order, summed). */
export interface OrderLine {
  order_id: string;
  event_id: string;
  category: string;
  currency: string;
  quantity: number;
  amount: string;
}

/** What the refunds booked so far took from one order's category. */
export interface BookedSoFar {
  order_id: string;
  category: string;
  quantity: number;
  amount: string;
}

/** Money as integer ten-thousandths: exact, for the 4-decimal amounts ClickHouse keeps. */
export function money(text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,4})\d*)?$/.exec(text.trim());
  if (m === null) throw new Error(`not a decimal amount: ${JSON.stringify(text)}`);
  const units = BigInt(m[2]!) * 10_000n + BigInt((m[3] ?? '').padEnd(4, '0'));
  return m[1] === '-' ? -units : units;
}

/** Integer ten-thousandths as decimal text with 4 places. */
export function moneyText(units: bigint): string {
  const sign = units < 0n ? '-' : '';
  const abs = units < 0n ? -units : units;
  return `${sign}${abs / 10_000n}.${(abs % 10_000n).toString().padStart(4, '0')}`;
}

const key = (order: string, category: string) => `${order}\u0000${category}`;

/**
 * Decides `candidates` against their orders' lines and the refunds booked before this pass.
 * `waitSeconds`: how long a refund whose order is missing stays pending before it becomes an
 * anomaly for good.
 */
export function decideRefunds(
  candidates: readonly RefundCandidate[],
  lines: readonly OrderLine[],
  booked: readonly BookedSoFar[],
  waitSeconds: number,
): Map<string, Decision> {
  const linesOf = new Map<string, OrderLine[]>();
  for (const line of lines) {
    const list = linesOf.get(line.order_id) ?? [];
    list.push(line);
    linesOf.set(line.order_id, list);
  }
  const taken = new Map<string, { quantity: number; amount: bigint }>();
  for (const b of booked) {
    const t = taken.get(key(b.order_id, b.category)) ?? { quantity: 0, amount: 0n };
    taken.set(key(b.order_id, b.category), {
      quantity: t.quantity + b.quantity,
      amount: t.amount + money(b.amount),
    });
  }

  const ordered = [...candidates].sort(
    (a, b) => a.timestamp_ms - b.timestamp_ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const decisions = new Map<string, Decision>();
  for (const refund of ordered) {
    const decision = decideOne(refund, linesOf.get(refund.order_id) ?? [], taken, waitSeconds);
    decisions.set(refund.id, decision);
    if (decision.outcome === 'booked') {
      const k = key(refund.order_id, refund.category);
      const t = taken.get(k) ?? { quantity: 0, amount: 0n };
      taken.set(k, { quantity: t.quantity + refund.quantity, amount: t.amount + money(refund.amount) });
    }
  }
  return decisions;
}

function decideOne(
  refund: RefundCandidate,
  lines: readonly OrderLine[],
  taken: ReadonlyMap<string, { quantity: number; amount: bigint }>,
  waitSeconds: number,
): Decision {
  const order = `order ${refund.order_id}`;
  if (lines.length === 0) {
    return refund.age_seconds < waitSeconds
      ? { outcome: 'pending', anomaly: 'order_not_seen', detail: `${order} has no sale yet; waiting for it` }
      : {
          outcome: 'anomaly',
          anomaly: 'order_not_seen',
          detail: `${order} had no sale ${Math.round(waitSeconds / 3600)} h after the refund arrived`,
        };
  }
  const ofShow = lines.filter((l) => l.event_id === refund.event_id);
  if (ofShow.length === 0) {
    const shows = [...new Set(lines.map((l) => l.event_id))].join(', ');
    return {
      outcome: 'anomaly',
      anomaly: 'other_show',
      detail: `${order} was sold for ${shows}, not ${refund.event_id}`,
    };
  }
  const ofCategory = ofShow.filter((l) => l.category === refund.category);
  if (ofCategory.length === 0) {
    const categories = [...new Set(ofShow.map((l) => l.category))].join(', ');
    return {
      outcome: 'anomaly',
      anomaly: 'other_category',
      detail: `${order} has no ${refund.category} tickets (it has ${categories})`,
    };
  }
  const inCurrency = ofCategory.filter((l) => l.currency === refund.currency);
  if (inCurrency.length === 0) {
    const currencies = [...new Set(ofCategory.map((l) => l.currency))].join(', ');
    return {
      outcome: 'anomaly',
      anomaly: 'other_currency',
      detail: `${order} was paid in ${currencies}, the refund is in ${refund.currency}`,
    };
  }
  const sold = inCurrency.reduce(
    (s, l) => ({ quantity: s.quantity + l.quantity, amount: s.amount + money(l.amount) }),
    {
      quantity: 0,
      amount: 0n,
    },
  );
  const already = taken.get(key(refund.order_id, refund.category)) ?? { quantity: 0, amount: 0n };
  const ticketsLeft = sold.quantity - already.quantity;
  if (refund.quantity > ticketsLeft) {
    return {
      outcome: 'anomaly',
      anomaly: 'more_tickets_than_remain',
      detail: `${order} has ${ticketsLeft} of ${sold.quantity} ${refund.category} tickets left; the refund returns ${refund.quantity}`,
    };
  }
  const moneyLeft = sold.amount - already.amount;
  if (money(refund.amount) > moneyLeft) {
    return {
      outcome: 'anomaly',
      anomaly: 'more_money_than_remains',
      detail: `${order} has ${moneyText(moneyLeft)} of ${moneyText(sold.amount)} ${refund.currency} left; the refund returns ${moneyText(money(refund.amount))}`,
    };
  }
  return { outcome: 'booked' };
}
