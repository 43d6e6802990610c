// Edge rate limiting: named rate counters and penalty boxes, shared by every
// request of a server (they live on the main thread; runtime/server/
// erl-service.ts serves them to `fastly_erl`). The clock is injected, so
// tests move time instead of waiting.
//
// What the platform documents, and how it is done here
// (https://www.fastly.com/documentation/guides/concepts/rate-limiting/, the
// SDKs' erl docs):
// - A counter entry counts increments in 10-second buckets aligned on the
//   clock (:00, :10, ...). `count` over 10 to 60 seconds sums the current
//   bucket and the ones before it: discrete windows, as the Go SDK describes.
// - `rate` over 1, 10 or 60 seconds is an estimate of increments per second
//   over the last window: the increments of the window's aligned buckets, the
//   oldest one weighted by the share of it still inside the window (1-second
//   buckets for the 1-second window). Exact for steady traffic.
// - `checkRate` increments, then puts the entry in the penalty box when the
//   estimated rate is above the limit; it answers whether the entry is in the
//   box. Adding an entry that is already in a box replaces its TTL.
// - Penalty box TTLs are whole minutes from 1 to 60 (the ABI passes seconds;
//   they are truncated to the minute). The platform also rounds expiry up to
//   the next minute; here an entry leaves its box exactly `ttl` after it was
//   added, which is what tests can rely on.
// - Counters and boxes hold a bounded number of entries: a full counter
//   evicts the entry least recently incremented, a full box the entry with
//   the shortest remaining TTL (the platform's rules).
// The platform counts only approximately (it may under-count by 10%) and
// only per POP; a local server counts exactly and for itself.

export const RATE_WINDOWS: readonly number[] = [1, 10, 60];
export const COUNT_DURATIONS: readonly number[] = [10, 20, 30, 40, 50, 60];
export const MIN_PENALTY_MINUTES = 1;
export const MAX_PENALTY_MINUTES = 60;
/** The longest entry the platform accepts (its VCL functions answer EINVAL past it), in UTF-8 bytes. */
export const MAX_ENTRY_BYTES = 256;

/**
 * Entries all counters together, and all boxes together, hold before they
 * evict (a local choice: the platform's capacity is not published). One
 * budget for all names, so that a guest inventing names cannot grow it.
 */
export const DEFAULT_CAPACITY = 65_536;

/** One key for a (name, entry) pair: the name's length first, so that no two pairs share one. */
const pairKey = (name: string, entry: string) => `${name.length}:${name}${entry}`;

const BUCKET_MS = 10_000;
/** Six buckets cover a minute; a seventh, partly outside it, weighs into the 60-second rate. */
const BUCKETS = 7;

export function isRateWindow(window: number): boolean {
  return RATE_WINDOWS.includes(window);
}

export function isCountDuration(duration: number): boolean {
  return COUNT_DURATIONS.includes(duration);
}

/** A penalty TTL given in seconds as whole minutes, or null when it is outside 1 to 60 minutes. */
export function penaltyMinutes(ttlSeconds: number): number | null {
  const minutes = Math.floor(ttlSeconds / 60);
  return minutes >= MIN_PENALTY_MINUTES && minutes <= MAX_PENALTY_MINUTES ? minutes : null;
}

/** One counter entry: increments per aligned bucket, the newest first. */
interface Counts {
  /** Index of the 1-second bucket `seconds[0]` counts (ms / 1000). */
  second: number;
  seconds: [number, number];
  /** Index of the 10-second bucket `tens[0]` counts (ms / 10 000). */
  ten: number;
  tens: number[];
}

export interface EdgeRateLimitsOptions {
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Entries per counter and per box (default 65 536). */
  capacity?: number;
}

export class EdgeRateLimits {
  private readonly now: () => number;
  private readonly capacity: number;
  /** (counter, entry) -> counts, least recently incremented first. */
  private readonly counters = new Map<string, Counts>();
  /** (box, entry) -> when it leaves (ms). */
  private readonly boxes = new Map<string, number>();

  constructor(options: EdgeRateLimitsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.capacity = options.capacity ?? DEFAULT_CAPACITY;
  }

  increment(counter: string, entry: string, delta: number): void {
    const now = this.now();
    const key = pairKey(counter, entry);
    let counts = this.counters.get(key);
    if (counts) {
      this.counters.delete(key); // re-inserted below: the most recently incremented
      advance(counts, now);
    } else {
      if (this.counters.size >= this.capacity) this.counters.delete(this.counters.keys().next().value!);
      counts = { second: Math.floor(now / 1000), seconds: [0, 0], ten: Math.floor(now / BUCKET_MS), tens: new Array<number>(BUCKETS).fill(0) };
    }
    this.counters.set(key, counts);
    counts.seconds[0] += delta;
    counts.tens[0] += delta;
  }

  /** Estimated increments per second over the last `window` seconds (1, 10 or 60). */
  rate(counter: string, entry: string, window: number): number {
    if (!isRateWindow(window)) throw new RangeError(`a rate window is 1, 10 or 60 seconds, not ${window}`);
    const counts = this.counters.get(pairKey(counter, entry));
    if (!counts) return 0;
    const now = this.now();
    advance(counts, now);
    if (window === 1) {
      const elapsed = share(now - counts.second * 1000, 1000);
      return counts.seconds[0] + counts.seconds[1] * (1 - elapsed);
    }
    // The window's buckets: the current one, those wholly inside, and the oldest, in part.
    const buckets = window / 10;
    const elapsed = share(now - counts.ten * BUCKET_MS, BUCKET_MS);
    let sum = 0;
    for (let i = 0; i < buckets; i++) sum += counts.tens[i];
    return (sum + counts.tens[buckets] * (1 - elapsed)) / window;
  }

  /** Increments in the current 10-second bucket and the ones before it, `duration` seconds' worth (10 to 60). */
  count(counter: string, entry: string, duration: number): number {
    if (!isCountDuration(duration)) throw new RangeError(`a count duration is 10, 20, 30, 40, 50 or 60 seconds, not ${duration}`);
    const counts = this.counters.get(pairKey(counter, entry));
    if (!counts) return 0;
    advance(counts, this.now());
    let sum = 0;
    for (let i = 0; i < duration / 10; i++) sum += counts.tens[i];
    return sum;
  }

  /** Puts the entry in the box for `minutes` (1 to 60) from now, replacing any earlier TTL. */
  penalize(box: string, entry: string, minutes: number): void {
    if (!Number.isInteger(minutes) || minutes < MIN_PENALTY_MINUTES || minutes > MAX_PENALTY_MINUTES) {
      throw new RangeError(`a penalty lasts 1 to 60 whole minutes, not ${minutes}`);
    }
    const now = this.now();
    const key = pairKey(box, entry);
    if (!this.boxes.has(key) && this.boxes.size >= this.capacity) evictShortest(this.boxes, now, this.capacity);
    this.boxes.set(key, now + minutes * 60_000);
  }

  isPenalized(box: string, entry: string): boolean {
    const key = pairKey(box, entry);
    const until = this.boxes.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.boxes.delete(key);
    return false;
  }

  /**
   * Increments the entry, puts it in the box when its rate over `window` is
   * above `limit` per second, and answers whether it is in the box.
   */
  checkRate(counter: string, entry: string, delta: number, window: number, limit: number, box: string, minutes: number): boolean {
    if (!isRateWindow(window)) throw new RangeError(`a rate window is 1, 10 or 60 seconds, not ${window}`);
    this.increment(counter, entry, delta);
    if (this.rate(counter, entry, window) > limit) this.penalize(box, entry, minutes);
    return this.isPenalized(box, entry);
  }
}

/** How much of a bucket has passed, from 0 to 1 (a clock that stepped back counts as its start). */
function share(elapsedMs: number, bucketMs: number): number {
  return Math.min(1, Math.max(0, elapsedMs / bucketMs));
}

/** Moves the entry's buckets up to the current time: buckets that ended shift back, those past the window drop. */
function advance(counts: Counts, now: number): void {
  const second = Math.floor(now / 1000);
  if (second > counts.second) {
    counts.seconds[1] = second - counts.second === 1 ? counts.seconds[0] : 0;
    counts.seconds[0] = 0;
    counts.second = second;
  }
  const ten = Math.floor(now / BUCKET_MS);
  const shift = ten - counts.ten;
  if (shift > 0) {
    for (let i = BUCKETS - 1; i >= 0; i--) counts.tens[i] = i >= shift ? counts.tens[i - shift] : 0;
    counts.ten = ten;
  }
}

/** Makes room in a full box: expired entries go, else the one with the shortest remaining TTL. */
function evictShortest(entries: Map<string, number>, now: number, capacity: number): void {
  let shortest: string | null = null;
  let shortestUntil = Infinity;
  for (const [entry, until] of entries) {
    if (until <= now) entries.delete(entry);
    else if (until < shortestUntil) [shortest, shortestUntil] = [entry, until];
  }
  if (shortest !== null && entries.size >= capacity) entries.delete(shortest);
}
