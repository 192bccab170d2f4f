/**
 * Runs an async task again and again, `intervalMs` after each run ends (never two at once),
 * until `close()`, which waits for a run in progress. A failed run is handed to `onError` and
 * the next run goes ahead on schedule.
 */
export interface RepeatOptions {
  /** The task; its promise settles before the next run is scheduled. */
  run: () => Promise<unknown>;
  intervalMs: number;
  /** Delay before the first run (default: `intervalMs`). */
  firstDelayMs?: number;
  onError: (err: unknown) => void;
}

export interface Repeating {
  start(): void;
  close(): Promise<void>;
}

export function repeat(options: RepeatOptions): Repeating {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let closed = false;
  const tick = async function repeatTick() {
    running = options.run().catch(options.onError);
    await running;
    if (!closed) timer = setTimeout(tick, options.intervalMs);
  };
  return {
    start() {
      timer = setTimeout(tick, options.firstDelayMs ?? options.intervalMs);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
