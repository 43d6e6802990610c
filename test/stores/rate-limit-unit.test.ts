// The counting behind `fastly_erl`, with a clock the tests move: counts over
// aligned 10-second buckets, rate estimates over 1, 10 and 60 seconds,
// penalty boxes that hold an entry for exactly its TTL, check_rate, and the
// bounded capacity of counters and boxes.
import { describe, expect, it } from "vitest";
import { EdgeRateLimits, isCountDuration, isRateWindow, penaltyMinutes } from "../../runtime/stores/rate-limit.ts";

/** A time on a 10-second boundary, as the platform's buckets are aligned. */
const T0 = 1_700_000_000_000;

function limits(capacity?: number) {
  let now = T0;
  const erl = new EdgeRateLimits({ now: () => now, capacity });
  return {
    erl,
    at(ms: number) {
      now = T0 + ms;
      return erl;
    },
  };
}

describe("rate counters", () => {
  it("count increments in the current 10-second bucket and the ones before it", () => {
    const { erl, at } = limits();
    at(1_000).increment("rc", "client", 5);
    at(9_999).increment("rc", "client", 2);
    expect(erl.count("rc", "client", 10)).toBe(7);
    // Buckets are aligned on the clock: at :10 a new one starts.
    expect(at(10_000).count("rc", "client", 10)).toBe(0);
    expect(erl.count("rc", "client", 20)).toBe(7);
    at(25_000).increment("rc", "client", 1);
    expect(erl.count("rc", "client", 10)).toBe(1);
    expect(erl.count("rc", "client", 20)).toBe(1);
    expect(erl.count("rc", "client", 30)).toBe(8);
    expect(at(59_999).count("rc", "client", 60)).toBe(8);
    expect(erl.count("rc", "client", 50)).toBe(1);
    expect(at(60_000).count("rc", "client", 60)).toBe(1);
    expect(at(80_000).count("rc", "client", 60)).toBe(0);
    expect(erl.count("rc", "nobody", 60)).toBe(0);
    expect(erl.count("other", "client", 60)).toBe(0);
  });

  it("estimate the rate per second over 1, 10 and 60 seconds, fading the oldest bucket out", () => {
    const { at } = limits();
    at(200).increment("rc", "one", 10);
    expect(at(500).rate("rc", "one", 1)).toBe(10);
    expect(at(1_500).rate("rc", "one", 1)).toBe(5); // last second's 10, half of it still in the window
    expect(at(2_000).rate("rc", "one", 1)).toBe(0);

    at(1_000).increment("rc", "ten", 100);
    expect(at(5_000).rate("rc", "ten", 10)).toBe(10);
    expect(at(15_000).rate("rc", "ten", 10)).toBe(5);
    expect(at(20_000).rate("rc", "ten", 10)).toBe(0);

    at(0).increment("rc", "sixty", 600);
    expect(at(59_000).rate("rc", "sixty", 60)).toBe(10);
    expect(at(65_000).rate("rc", "sixty", 60)).toBe(5);
    expect(at(70_000).rate("rc", "sixty", 60)).toBe(0);
  });

  it("estimate a steady rate over every window, at any moment", () => {
    const { erl, at } = limits();
    // 20 increments a second for three minutes, the rates read along the way.
    const moments = new Set([90_000, 123_450, 127_000, 151_000]);
    for (let ms = 0; ms <= 180_000; ms += 50) {
      at(ms).increment("rc", "steady", 1);
      if (!moments.has(ms)) continue;
      // Within the 10% the platform allows itself (whole increments land in whole buckets).
      for (const window of [1, 10, 60]) expect(Math.abs(erl.rate("rc", "steady", window) - 20), `${window}s at ${ms}`).toBeLessThanOrEqual(2);
    }
  });

  it("keep counting when the clock steps back", () => {
    const { erl, at } = limits();
    at(15_000).increment("rc", "e", 10);
    at(14_000).increment("rc", "e", 10);
    expect(erl.count("rc", "e", 10)).toBe(20);
    expect(erl.rate("rc", "e", 10)).toBe(2);
    expect(erl.rate("rc", "e", 1)).toBe(20);
  });

  it("refuse windows and durations the platform does not have", () => {
    const { erl } = limits();
    expect(() => erl.rate("rc", "e", 5)).toThrow(RangeError);
    expect(() => erl.count("rc", "e", 15)).toThrow(RangeError);
    expect([0, 1, 2, 10, 30, 60, 61].filter(isRateWindow)).toEqual([1, 10, 60]);
    expect([0, 5, 10, 15, 20, 30, 40, 50, 60, 70].filter(isCountDuration)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it("evict the entry least recently incremented when full", () => {
    const { erl } = limits(2);
    erl.increment("rc", "a", 1);
    erl.increment("rc", "b", 1);
    erl.increment("rc", "a", 1);
    erl.increment("rc", "c", 1);
    expect(erl.count("rc", "a", 10)).toBe(2);
    expect(erl.count("rc", "b", 10)).toBe(0);
    expect(erl.count("rc", "c", 10)).toBe(1);
  });

  it("share one capacity among all counter names, so that new names cannot grow it", () => {
    const { erl } = limits(2);
    erl.increment("one", "a", 1);
    erl.increment("two", "a", 1);
    erl.increment("three", "a", 1);
    expect(erl.count("one", "a", 10)).toBe(0);
    expect(erl.count("two", "a", 10)).toBe(1);
    expect(erl.count("three", "a", 10)).toBe(1);
    // Names and entries never run together: ("ab", "c") is not ("a", "bc").
    erl.increment("ab", "c", 5);
    expect(erl.count("a", "bc", 10)).toBe(0);
  });
});

describe("penalty boxes", () => {
  it("hold an entry for exactly its TTL, and a new TTL replaces the old", () => {
    const { erl, at } = limits();
    at(0).penalize("pb", "client", 1);
    expect(erl.isPenalized("pb", "client")).toBe(true);
    expect(erl.isPenalized("pb", "someone-else")).toBe(false);
    expect(erl.isPenalized("other-box", "client")).toBe(false);
    expect(at(59_999).isPenalized("pb", "client")).toBe(true);
    expect(at(60_000).isPenalized("pb", "client")).toBe(false);

    at(100_000).penalize("pb", "client", 10);
    at(200_000).penalize("pb", "client", 2); // replaces: 2 minutes from now
    expect(at(319_999).isPenalized("pb", "client")).toBe(true);
    expect(at(320_000).isPenalized("pb", "client")).toBe(false);
  });

  it("take TTLs of 1 to 60 whole minutes (the ABI passes seconds, truncated to the minute)", () => {
    expect([0, 59, 60, 119, 120, 3600, 3659, 3660, 0xffffffff].map(penaltyMinutes)).toEqual([null, null, 1, 1, 2, 60, 60, null, null]);
    const { erl } = limits();
    expect(() => erl.penalize("pb", "e", 0)).toThrow(RangeError);
    expect(() => erl.penalize("pb", "e", 61)).toThrow(RangeError);
    expect(() => erl.penalize("pb", "e", 1.5)).toThrow(RangeError);
  });

  it("evict expired entries, then the one with the shortest remaining TTL, when full", () => {
    const { erl, at } = limits(2);
    at(0).penalize("pb", "long", 5);
    erl.penalize("pb", "short", 1);
    erl.penalize("pb", "middle", 3);
    expect(["long", "short", "middle"].map((e) => erl.isPenalized("pb", e))).toEqual([true, false, true]);
    // Re-adding an entry that is in the box needs no room.
    erl.penalize("pb", "long", 4);
    expect(erl.isPenalized("pb", "middle")).toBe(true);
    at(200_000).penalize("pb", "late", 1); // "middle" has expired: it makes the room
    expect(["long", "middle", "late"].map((e) => erl.isPenalized("pb", e))).toEqual([true, false, true]);
  });

  it("share one capacity among all box names", () => {
    const { erl } = limits(2);
    erl.penalize("b1", "e", 5);
    erl.penalize("b2", "e", 1);
    erl.penalize("b3", "e", 3);
    expect(["b1", "b2", "b3"].map((box) => erl.isPenalized(box, "e"))).toEqual([true, false, true]);
  });
});

describe("checkRate", () => {
  it("penalizes an entry once its rate goes above the limit, for the TTL", () => {
    const { erl, at } = limits();
    // 5 per second over 10 seconds: 50 increments are at the limit, the 51st is above it.
    for (let i = 0; i < 5; i++) expect(at(1_000 + i).checkRate("rc", "client", 10, 10, 5, "pb", 1)).toBe(false);
    expect(erl.checkRate("rc", "other", 10, 10, 5, "pb", 1)).toBe(false);
    expect(at(2_000).checkRate("rc", "client", 10, 10, 5, "pb", 1)).toBe(true);
    expect(erl.isPenalized("pb", "client")).toBe(true);
    expect(erl.isPenalized("pb", "other")).toBe(false);
    expect(erl.count("rc", "client", 10)).toBe(60);

    // In the box it stays blocked, even when it adds nothing...
    expect(at(30_000).checkRate("rc", "client", 0, 10, 5, "pb", 1)).toBe(true);
    // ...until the TTL has passed: then its rate decides again.
    expect(at(62_000).isPenalized("pb", "client")).toBe(false);
    expect(erl.checkRate("rc", "client", 1, 10, 5, "pb", 1)).toBe(false);
  });

  it("renews the penalty while the entry stays above the limit", () => {
    const { at } = limits();
    expect(at(0).checkRate("rc", "e", 100, 60, 1, "pb", 1)).toBe(true);
    // 50 seconds on, the 60-second rate is still above 1/s: the penalty starts again.
    expect(at(50_000).checkRate("rc", "e", 1, 60, 1, "pb", 1)).toBe(true);
    expect(at(109_999).isPenalized("pb", "e")).toBe(true);
    expect(at(110_000).isPenalized("pb", "e")).toBe(false);
  });

  it("uses the window it is given, and refuses others before counting", () => {
    const { erl, at } = limits();
    // 15 increments in one second: above 10/s over 1 second, not over 10 or 60 seconds.
    expect(at(500).checkRate("rc", "burst", 15, 60, 10, "pb60", 1)).toBe(false);
    expect(erl.checkRate("rc", "burst", 0, 10, 10, "pb10", 1)).toBe(false);
    expect(erl.checkRate("rc", "burst", 0, 1, 10, "pb1", 1)).toBe(true);
    expect(() => erl.checkRate("rc", "burst", 5, 2, 10, "pb", 1)).toThrow(RangeError);
    expect(erl.count("rc", "burst", 10)).toBe(15);
  });
});
