// @ts-check
/**
 * One subscription's table of the /v1/live protocol (docs/live-protocol.md): built from a
 * `snapshot`, kept by each `delta`. Rows are keyed by the snapshot's key columns; an upsert
 * replaces the whole row, a delete carries the key columns only. Pure: the dashboard in the
 * browser and the tests in Node both use this one module.
 */

/**
 * The text that identifies a row: its key columns' values, in key order.
 * @param {readonly string[]} key
 * @param {Record<string, unknown>} row
 * @returns {string}
 */
export function keyOf(key, row) {
  return JSON.stringify(key.map((column) => row[column] ?? null));
}

export class LiveTable {
  /**
   * @param {readonly string[]} key the key columns a snapshot names
   * @param {readonly Record<string, unknown>[]} [rows] its rows
   */
  constructor(key, rows = []) {
    /** @type {readonly string[]} */
    this.key = key;
    /** @type {Map<string, Record<string, unknown>>} */
    this.rows = new Map();
    for (const row of rows) this.rows.set(keyOf(key, row), row);
  }

  /**
   * Applies a delta's upserts, then its deletes.
   * @param {{ upserts: readonly Record<string, unknown>[], deletes: readonly Record<string, unknown>[] }} delta
   */
  apply(delta) {
    for (const row of delta.upserts) this.rows.set(keyOf(this.key, row), row);
    for (const row of delta.deletes) this.rows.delete(keyOf(this.key, row));
  }

  /** @returns {number} */
  get size() {
    return this.rows.size;
  }

  /**
   * The rows ordered by their key text: a stable order to compare with a view's rows.
   * @returns {Record<string, unknown>[]}
   */
  sorted() {
    return [...this.rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
  }
}
