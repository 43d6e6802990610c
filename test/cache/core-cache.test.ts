// The Core Cache API (`fastly_cache`) end to end, through a scriptable WAT
// guest (test/fixtures/wat/core-cache-script.wat): exact statuses and flags,
// request collapsing across concurrent requests, streaming inserts read while
// they are written, ranges, vary, purges and expiry on the server's clock.
//
// Requests that must overlap are held at a "gate": a backend request the test
// answers when it chooses, so the order of events never depends on timing.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheScript, LookupMask, SECOND, State, WriteMask } from "../helpers/cache-script.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { watFixture } from "../helpers/wat.ts";

const OK = 0;
const INVAL = 2;
const BADF = 3;
const BUFLEN = 4;
const UNSUPPORTED = 5;
const NONE = 10;
const SELECT_TIMEOUT = 0xffffffffn;
const FRESH = BigInt(State.FOUND | State.USABLE);
const STALE = BigInt(State.FOUND | State.USABLE | State.STALE);
const MUST = BigInt(State.MUST_INSERT_OR_UPDATE);

interface Gate {
  arrived: Promise<void>;
  open(): void;
}

describe("Core Cache API (fastly_cache)", () => {
  let server: TestServer;
  let origin: Origin;
  /** The server's cache clock runs `skew` ms ahead of real time. */
  let skew = 0;
  const gates = new Map<string, { arrived: PromiseWithResolvers<void>; opened: PromiseWithResolvers<void> }>();
  const gateState = (name: string) => {
    let state = gates.get(name);
    if (!state) gates.set(name, (state = { arrived: Promise.withResolvers(), opened: Promise.withResolvers() }));
    return state;
  };
  const gate = (name: string): Gate => ({ arrived: gateState(name).arrived.promise, open: () => gateState(name).opened.resolve() });
  let keys = 0;
  /** A key no other test uses. */
  const key = (name: string) => `${name}-${++keys}`;
  const run = (s: CacheScript) => s.run(server);

  beforeAll(async () => {
    origin = await startOrigin(async (req, res) => {
      const state = gateState(new URL(req.url!, "http://x").pathname.slice(1));
      state.arrived.resolve();
      await state.opened.promise;
      res.end("open");
    });
    server = await serve(watFixture("core-cache-script"), {
      workers: 2,
      backends: { gate: origin.url },
      clock: () => Date.now() + skew,
      limits: { wallMs: 20_000 },
    });
  });
  afterAll(async () => {
    for (const state of gates.values()) state.opened.resolve();
    await server?.close();
    await origin?.close();
  });

  /** Whether `promise` is still pending after a while (it must not settle before the test lets it). */
  const stillPending = async (promise: Promise<unknown>) => (await Promise.race([promise.then(() => "settled"), sleep(300).then(() => "pending")])) === "pending";

  describe("lookup and insert", () => {
    it("finds nothing under a new key, with `none` from every getter", async () => {
      const s = new CacheScript();
      const look = s.lookup(1, key("miss"));
      const state = s.get("state", 1);
      const getters = (["length", "maxAge", "swr", "age", "hits"] as const).map((g) => s.get(g, 1));
      const md = s.userMetadata(1);
      const body = s.getBody(2, 1);
      const ready = s.isReady(1);
      const close = s.close(1);
      const again = s.close(1);
      const out = await run(s);
      expect(out[look].status).toBe(OK);
      expect(out[state]).toEqual({ status: OK, value: 0n });
      for (const g of getters) expect(out[g].status).toBe(NONE);
      expect(out[md].status).toBe(NONE);
      expect(out[body].status).toBe(NONE);
      expect(out[ready]).toEqual({ status: OK, value: 1n });
      expect(out[close].status).toBe(OK);
      expect(out[again].status).toBe(BADF);
    });

    it("stores what is written and reports its metadata", async () => {
      const k = key("meta");
      const s = new CacheScript();
      const insert = s.insert(1, k, { maxAgeNs: 90n * SECOND, swrNs: 7n * SECOND, initialAgeNs: 3n * SECOND, length: 11, userMetadata: "some\0meta" });
      s.write(1, "hello ");
      s.write(1, "world");
      const closed = s.closeBody(1);
      s.lookup(2, k);
      const state = s.get("state", 2);
      const length = s.get("length", 2);
      const maxAge = s.get("maxAge", 2);
      const swr = s.get("swr", 2);
      const age = s.get("age", 2);
      const hits = s.get("hits", 2);
      const short = s.userMetadata(2, 4);
      const exact = s.userMetadata(2, 9);
      s.getBody(3, 2);
      const body = s.readAll(3);
      s.lookup(4, k);
      const hitsAgain = s.get("hits", 4);
      const out = await run(s);
      expect(out[insert].status).toBe(OK);
      expect(out[closed].status).toBe(OK);
      expect(out[state].value).toBe(FRESH);
      expect(out[length].value).toBe(11n);
      expect(out[maxAge].value).toBe(90n * SECOND);
      expect(out[swr].value).toBe(7n * SECOND);
      // The initial age plus the (short) time since the insert.
      expect(out[age].value).toBeGreaterThanOrEqual(3n * SECOND);
      expect(out[age].value).toBeLessThan(13n * SECOND);
      expect(out[hits].value).toBe(1n);
      expect(out[hitsAgain].value).toBe(2n);
      // BUFLEN convention: the size needed, nothing written.
      expect(out[short]).toEqual({ status: BUFLEN, value: 9n });
      expect(Buffer.from(out[exact].bytes!).toString("latin1")).toBe("some\0meta");
      expect(out[body].text).toBe("hello world");
      // Another request sees it too.
      const t = new CacheScript();
      t.lookup(1, k);
      t.getBody(2, 1);
      const again = t.readAll(2);
      expect((await run(t))[again].text).toBe("hello world");
    });

    it("takes keys of up to 4096 bytes, any bytes, and rejects longer ones", async () => {
      const long = new Uint8Array(4096).fill(0x41);
      long[0] = 0;
      const s = new CacheScript();
      const fits = s.insert(1, long);
      s.write(1, "long key");
      s.closeBody(1);
      const tooLong = s.insert(2, new Uint8Array(4097));
      const lookTooLong = s.lookup(3, new Uint8Array(4097));
      s.lookup(4, long);
      s.getBody(5, 4);
      const body = s.readAll(5);
      const other = s.lookup(6, long.subarray(1));
      const otherState = s.get("state", 6);
      const out = await run(s);
      expect(out[fits].status).toBe(OK);
      expect(out[tooLong].status).toBe(INVAL);
      expect(out[lookTooLong].status).toBe(INVAL);
      expect(out[body].text).toBe("long key");
      expect(out[other].status).toBe(OK);
      expect(out[otherState].value).toBe(0n);
    });

    it("answers the option records' edge cases as the ABI says", async () => {
      const k = key("options");
      const s = new CacheScript();
      const serviceId = s.lookup(1, k, { extraMask: LookupMask.SERVICE_ID });
      const reserved = s.lookup(1, k, { extraMask: 1 });
      const unknownBit = s.insert(1, k, { extraMask: 1 << 20 });
      const writeServiceId = s.insert(1, k, { extraMask: WriteMask.SERVICE_ID });
      const edge = s.insert(1, k, { maxAgeNs: 10n * SECOND, edgeMaxAgeNs: 11n * SECOND });
      const badVary = s.insert(1, k, { vary: "accept bad:name" });
      s.txLookup(2, k);
      const headersInTx = s.txInsert(3, 2, { request: 2 });
      const badHandle = s.get("state", 9);
      const bodyAsCache = s.close(0);
      const badRange = s.getBody(4, 2, { mask: 1 << 5 });
      s.txCancel(2);
      const out = await run(s);
      expect(out[serviceId].status).toBe(UNSUPPORTED);
      expect(out[reserved].status).toBe(UNSUPPORTED);
      expect(out[unknownBit].status).toBe(UNSUPPORTED);
      expect(out[writeServiceId].status).toBe(UNSUPPORTED);
      expect(out[edge].status).toBe(INVAL);
      expect(out[badVary].status).toBe(INVAL);
      expect(out[headersInTx].status).toBe(INVAL);
      expect(out[badHandle].status).toBe(BADF);
      expect(out[bodyAsCache].status).toBe(BADF);
      expect(out[badRange].status).toBe(UNSUPPORTED);
    });

    it("drops an insert whose body is abandoned or does not match its declared length", async () => {
      const abandoned = key("abandoned");
      const short = key("short");
      const s = new CacheScript();
      s.insert(1, abandoned);
      s.write(1, "partial");
      s.lookup(2, abandoned);
      const during = s.get("state", 2);
      s.getBody(3, 2);
      s.abandonBody(1);
      const read = s.readAll(3);
      s.lookup(4, abandoned);
      const after = s.get("state", 4);
      s.insert(5, short, { length: 5 });
      s.write(5, "abc");
      s.closeBody(5);
      s.lookup(6, short);
      const shortState = s.get("state", 6);
      const out = await run(s);
      // Visible while it is written; readers see the failure; then it is gone.
      expect(out[during].value).toBe(FRESH);
      expect(out[read].status).not.toBe(OK);
      expect(out[after].value).toBe(0n);
      expect(out[shortState].value).toBe(0n);
    });

    it("drops an insert the guest never finishes when its request ends", async () => {
      const k = key("unfinished");
      const s = new CacheScript();
      s.insert(1, k);
      s.write(1, "never closed");
      await run(s);
      // The client has its response a moment before the guest's run is over: look until it is.
      const lookUp = async () => {
        const t = new CacheScript();
        t.lookup(1, k);
        const state = t.get("state", 1);
        return (await run(t))[state].value;
      };
      let state = await lookUp();
      for (let tries = 0; state !== 0n && tries < 50; tries++) state = await lookUp();
      expect(state).toBe(0n);
    });
  });

  describe("transactions and request collapsing", () => {
    it("gives one obligation to concurrent lookups of a missing key; the others wait and find the object", async () => {
      const k = key("collapse");
      const hold = gate(`${k}-holder`);
      const holder = new CacheScript();
      holder.txLookup(1, k);
      const holderState = holder.get("state", 1);
      holder.gate(`${k}-holder`);
      holder.txInsert(2, 1, { userMetadata: "from the holder" });
      holder.write(2, "collapsed body");
      holder.closeBody(2);
      const holderRun = run(holder);
      await hold.arrived;

      const waiter = () => {
        const s = new CacheScript();
        s.txLookup(1, k);
        const state = s.get("state", 1);
        const md = s.userMetadata(1);
        s.getBody(2, 1);
        const body = s.readAll(2);
        return run(s).then((out) => ({ state: out[state].value, md: out[md].bytes, body: out[body].text }));
      };
      const waiters = Promise.all([waiter(), waiter(), waiter()]);
      expect(await stillPending(waiters)).toBe(true);
      hold.open();
      expect((await holderRun)[holderState].value).toBe(MUST);
      for (const result of await waiters) {
        expect(result.state).toBe(FRESH);
        expect(Buffer.from(result.md!).toString()).toBe("from the holder");
        expect(result.body).toBe("collapsed body");
      }
    });

    it("waits through busy handles: not ready while another client holds the obligation", async () => {
      const k = key("busy");
      const hold = gate(`${k}-holder`);
      const holder = new CacheScript();
      holder.txLookup(1, k);
      holder.gate(`${k}-holder`);
      holder.txInsert(2, 1);
      holder.write(2, "via busy handle");
      holder.closeBody(2);
      const holderRun = run(holder);
      await hold.arrived;

      const queued = gate(`${k}-queued`);
      const s = new CacheScript();
      const lookup = s.txLookupAsync(1, k);
      const ready = s.isReady(1);
      const timedOut = s.select([1], 50);
      s.gate(`${k}-queued`);
      const selected = s.select([1], 10_000);
      const wait = s.busyWait(2, 1);
      const state = s.get("state", 2);
      s.getBody(3, 2);
      const body = s.readAll(3);
      const secondWait = s.busyWait(4, 1);
      const closeBusy = s.closeBusy(1);
      const waiterRun = run(s);
      // The lookup is queued on the main thread before the gate request leaves the guest.
      await queued.arrived;
      hold.open();
      queued.open();
      await holderRun;
      const out = await waiterRun;
      expect(out[lookup].status).toBe(OK);
      expect(out[ready]).toEqual({ status: OK, value: 0n });
      expect(out[timedOut]).toEqual({ status: OK, value: SELECT_TIMEOUT });
      expect(out[selected]).toEqual({ status: OK, value: 0n });
      expect(out[wait].status).toBe(OK);
      expect(out[state].value).toBe(FRESH);
      expect(out[body].text).toBe("via busy handle");
      expect(out[secondWait].status).toBe(BADF);
      expect(out[closeBusy].status).toBe(OK);
    });

    it("makes a busy handle ready at once when nothing holds the key up", async () => {
      const k = key("busy-now");
      const s = new CacheScript();
      const lookup = s.txLookupAsync(1, k);
      const ready = s.isReady(1);
      const selected = s.select([1], 0);
      const wait = s.busyWait(2, 1);
      const state = s.get("state", 2);
      const ready2 = s.isReady(2);
      s.txInsert(3, 2);
      s.write(3, "now");
      s.closeBody(3);
      s.txLookupAsync(4, k);
      const readyFound = s.isReady(4);
      s.busyWait(5, 4);
      const found = s.get("state", 5);
      s.txLookupAsync(6, key("busy-dropped"));
      const dropped = s.closeBusy(6);
      const out = await run(s);
      expect(out[lookup].status).toBe(OK);
      expect(out[ready]).toEqual({ status: OK, value: 1n });
      expect(out[selected]).toEqual({ status: OK, value: 0n });
      expect(out[wait].status).toBe(OK);
      expect(out[state].value).toBe(MUST);
      expect(out[ready2]).toEqual({ status: OK, value: 1n });
      expect(out[readyFound]).toEqual({ status: OK, value: 1n });
      expect(out[found].value).toBe(FRESH);
      expect(out[dropped].status).toBe(OK);
    });

    it("takes a lookup out of the queue when its busy handle is closed", async () => {
      const k = key("close-busy");
      const hold = gate(`${k}-holder`);
      const holder = new CacheScript();
      holder.txLookup(1, k);
      holder.gate(`${k}-holder`);
      holder.txCancel(1);
      const holderRun = run(holder);
      await hold.arrived;

      const leaving = gate(`${k}-leaver`);
      const leaver = new CacheScript();
      leaver.txLookupAsync(1, k);
      const closed = leaver.closeBusy(1);
      const reuse = leaver.isReady(1);
      leaver.gate(`${k}-leaver`);
      const leaverRun = run(leaver);
      await leaving.arrived;
      hold.open();
      await holderRun;
      // The obligation the holder gave up did not go to the lookup that left.
      const next = new CacheScript();
      next.txLookup(1, k);
      const state = next.get("state", 1);
      expect((await run(next))[state].value).toBe(MUST);
      leaving.open();
      const out = await leaverRun;
      expect(out[closed].status).toBe(OK);
      expect(out[reuse].status).toBe(BADF);
    });

    it("passes a cancelled obligation to exactly one waiter", async () => {
      const k = key("cancel");
      const hold = gate(`${k}-holder`);
      const holder = new CacheScript();
      holder.txLookup(1, k);
      holder.gate(`${k}-holder`);
      const cancel = holder.txCancel(1);
      const cancelAgain = holder.txCancel(1);
      const stateAfter = holder.get("state", 1);
      const holderRun = run(holder);
      await hold.arrived;

      const waiter = async (name: string) => {
        const queued = gate(`${k}-${name}`);
        const s = new CacheScript();
        s.txLookupAsync(1, k);
        s.gate(`${k}-${name}`);
        s.busyWait(2, 1);
        const state = s.get("state", 2);
        // Whoever got the obligation inserts; the other reads what it inserted.
        const insert = s.txInsertAndStreamBack(3, 4, 2, { userMetadata: name });
        s.write(3, `inserted by ${name}`);
        s.closeBody(3);
        s.getBody(5, 2);
        const found = s.readAll(5);
        const done = run(s);
        await queued.arrived;
        return { done, state, insert, found, open: queued.open };
      };
      const [a, b] = await Promise.all([waiter("a"), waiter("b")]);
      hold.open();
      const holderOut = await holderRun;
      expect(holderOut[cancel].status).toBe(OK);
      expect(holderOut[cancelAgain].status).toBe(BADF);
      expect(holderOut[stateAfter].value).toBe(0n);
      a.open();
      b.open();
      const outs = [await a.done, await b.done];
      const obligated = outs.filter((out, i) => out[[a, b][i].state].value === MUST);
      expect(obligated).toHaveLength(1);
      const inserter = outs[0][a.state].value === MUST ? "a" : "b";
      for (const [i, w] of [a, b].entries()) {
        const out = outs[i];
        if ((i === 0 ? "a" : "b") === inserter) {
          expect(out[w.insert].status).toBe(OK);
          expect(out[w.found].status).not.toBe(OK); // it found nothing to read
        } else {
          expect(out[w.state].value).toBe(FRESH);
          expect(out[w.insert].status).toBe(BADF);
          expect(out[w.found].text).toBe(`inserted by ${inserter}`);
        }
      }
    });

    it("passes on an obligation whose handle is closed, or whose request ends", async () => {
      const closed = key("closed");
      const s = new CacheScript();
      s.txLookup(1, closed);
      const first = s.get("state", 1);
      s.close(1);
      s.txLookup(2, closed);
      const second = s.get("state", 2);
      const out = await run(s);
      expect(out[first].value).toBe(MUST);
      expect(out[second].value).toBe(MUST);

      const ended = key("ended");
      const a = new CacheScript();
      a.txLookup(1, ended);
      const aState = a.get("state", 1);
      expect((await run(a))[aState].value).toBe(MUST);
      const b = new CacheScript();
      b.txLookup(1, ended);
      const bState = b.get("state", 1);
      expect((await run(b))[bState].value).toBe(MUST);
    });

    it("needs an obligation to insert, update or cancel", async () => {
      const k = key("no-obligation");
      const s = new CacheScript();
      s.insert(1, k);
      s.write(1, "fresh");
      s.closeBody(1);
      s.txLookup(2, k);
      const state = s.get("state", 2);
      const insert = s.txInsert(3, 2);
      const update = s.txUpdate(2);
      const cancel = s.txCancel(2);
      s.lookup(4, k);
      const plainInsert = s.txInsert(5, 4);
      const miss = key("no-object");
      s.txLookup(6, miss);
      const updateNothing = s.txUpdate(6);
      s.txCancel(6);
      const out = await run(s);
      expect(out[state].value).toBe(FRESH);
      expect(out[insert].status).toBe(BADF);
      expect(out[update].status).toBe(BADF);
      expect(out[cancel].status).toBe(BADF);
      expect(out[plainInsert].status).toBe(BADF);
      expect(out[updateNothing].status).toBe(BADF);
    });

    it("streams an insert to readers while it is written, and back to the writer", async () => {
      const k = key("stream");
      const writing = gate(`${k}-writer`);
      const writer = new CacheScript();
      writer.txLookup(1, k);
      writer.txInsertAndStreamBack(2, 3, 1);
      writer.write(2, "first part;");
      writer.getBody(4, 3);
      const own = writer.readSome(4, 1000);
      writer.gate(`${k}-writer`);
      writer.write(2, "second part");
      writer.closeBody(2);
      const ownRest = writer.readAll(4);
      const writerRun = run(writer);
      await writing.arrived;

      const reading = gate(`${k}-reader`);
      const reader = new CacheScript();
      reader.lookup(1, k);
      const state = reader.get("state", 1);
      const length = reader.get("length", 1);
      reader.getBody(2, 1);
      const first = reader.readSome(2, 1000);
      reader.gate(`${k}-reader`);
      const rest = reader.readAll(2);
      const readerRun = run(reader);
      await reading.arrived;
      // The reader has its first bytes while the writer is still held.
      writing.open();
      reading.open();
      const [w, r] = await Promise.all([writerRun, readerRun]);
      expect(w[own].text).toBe("first part;");
      expect(w[ownRest].text).toBe("second part");
      expect(r[state].value).toBe(FRESH);
      expect(r[length].status).toBe(NONE); // no length declared, body not complete
      expect(r[first].text).toBe("first part;");
      expect(r[rest].text).toBe("second part");
    });

    it("serves a stale object within stale-while-revalidate, asking one client to update it", async () => {
      const k = key("swr");
      const s = new CacheScript();
      s.insert(1, k, { maxAgeNs: 10n * SECOND, swrNs: 60n * SECOND, userMetadata: "v1" });
      s.write(1, "original bytes");
      s.closeBody(1);
      await run(s);
      skew += 20_000;

      const t = new CacheScript();
      t.txLookup(1, k);
      const first = t.get("state", 1);
      t.txLookup(2, k);
      const second = t.get("state", 2);
      t.getBody(3, 2);
      const staleBody = t.readAll(3);
      const update = t.txUpdate(1, { maxAgeNs: 100n * SECOND, userMetadata: "v2" });
      const updateAgain = t.txUpdate(1, { maxAgeNs: 100n * SECOND });
      t.lookup(4, k);
      const after = t.get("state", 4);
      const maxAge = t.get("maxAge", 4);
      const md = t.userMetadata(4);
      t.getBody(5, 4);
      const body = t.readAll(5);
      const out = await run(t);
      expect(out[first].value).toBe(STALE | MUST);
      expect(out[second].value).toBe(STALE);
      expect(out[staleBody].text).toBe("original bytes");
      expect(out[update].status).toBe(OK);
      expect(out[updateAgain].status).toBe(BADF);
      expect(out[after].value).toBe(FRESH);
      expect(out[maxAge].value).toBe(100n * SECOND);
      expect(Buffer.from(out[md].bytes!).toString()).toBe("v2");
      expect(out[body].text).toBe("original bytes");
    });

    it("follows the server's clock: fresh, stale, then gone", async () => {
      const k = key("expiry");
      const s = new CacheScript();
      s.insert(1, k, { maxAgeNs: 10n * SECOND, swrNs: 5n * SECOND, initialAgeNs: 2n * SECOND });
      s.write(1, "x");
      s.closeBody(1);
      await run(s);
      const lookAt = async () => {
        const t = new CacheScript();
        t.lookup(1, k);
        const state = t.get("state", 1);
        const age = t.get("age", 1);
        t.txLookup(2, k);
        const tx = t.get("state", 2);
        const out = await run(t);
        return { state: out[state].value, age: out[age].value, tx: out[tx].value };
      };
      skew += 5_000;
      const atFive = await lookAt();
      expect(atFive.state).toBe(FRESH);
      expect(atFive.age).toBeGreaterThanOrEqual(7n * SECOND);
      expect(atFive.age).toBeLessThan(12n * SECOND);
      skew += 4_000; // age 11 s: stale, within stale-while-revalidate
      expect((await lookAt()).state).toBe(STALE);
      skew += 10_000; // age 21 s: past it
      const gone = await lookAt();
      expect(gone.state).toBe(0n);
      expect(gone.tx).toBe(MUST);
    });
  });

  describe("bodies", () => {
    it("serves byte ranges of an object of known length", async () => {
      const k = key("range");
      const s = new CacheScript();
      s.insert(1, k, { length: 10 });
      s.write(1, "0123456789");
      s.closeBody(1);
      s.lookup(2, k);
      const ranges: [number | undefined, number | undefined, string][] = [
        [2, 5, "2345"],
        [7, undefined, "789"],
        [undefined, 3, "789"], // the last 3 bytes
        [0, 9, "0123456789"],
        [20, undefined, "0123456789"], // past the end: the whole body
        [5, 2, "0123456789"], // backwards: the whole body
        [undefined, 11, "0123456789"],
      ];
      const reads = ranges.map(([from, to]) => {
        s.getBody(3, 2, { from, to });
        const read = s.readAll(3);
        s.closeBody(3);
        return read;
      });
      const out = await run(s);
      ranges.forEach(([, , expected], i) => expect(out[reads[i]].text).toBe(expected));
    });

    it("ignores a range while the length is unknown, unless the lookup asks to always use it", async () => {
      const k = key("range-unknown");
      const s = new CacheScript();
      s.insert(1, k);
      s.write(1, "0123456789");
      s.lookup(2, k);
      const length = s.get("length", 2);
      s.getBody(3, 2, { from: 2, to: 5 });
      s.lookup(4, k, { alwaysUseRequestedRange: true });
      s.getBody(5, 4, { from: 2, to: 5 });
      s.lookup(6, k, { alwaysUseRequestedRange: true });
      s.getBody(7, 6, { to: 3 });
      s.closeBody(1);
      const ignored = s.readAll(3);
      const used = s.readAll(5);
      const suffix = s.readAll(7);
      s.lookup(8, k);
      const lengthAfter = s.get("length", 8);
      const out = await run(s);
      expect(out[length].status).toBe(NONE);
      expect(out[ignored].text).toBe("0123456789");
      expect(out[used].text).toBe("2345");
      expect(out[suffix].text).toBe("789");
      expect(out[lengthAfter].value).toBe(10n);
    });

    it("hands out one body per found handle at a time", async () => {
      const k = key("one-body");
      const s = new CacheScript();
      s.insert(1, k);
      s.write(1, "abc");
      s.closeBody(1);
      s.lookup(2, k);
      const first = s.getBody(3, 2);
      const second = s.getBody(4, 2);
      s.closeBody(3);
      const third = s.getBody(5, 2);
      const read = s.readAll(5);
      const out = await run(s);
      expect(out[first].status).toBe(OK);
      expect(out[second].status).toBe(BADF);
      expect(out[third].status).toBe(OK);
      expect(out[read].text).toBe("abc");
    });
  });

  describe("vary and purging", () => {
    it("keeps a variant per value of the headers in the vary rule", async () => {
      const k = key("vary");
      const s = new CacheScript();
      s.requestWith(10, { "Accept-Language": "en" });
      s.requestWith(11, { "accept-language": "fr" });
      s.requestWith(12, { "accept-language": "de" });
      s.insert(1, k, { vary: "Accept-Language", request: 10 });
      s.write(1, "hello");
      s.closeBody(1);
      s.insert(1, k, { vary: "accept-language", request: 11 });
      s.write(1, "bonjour");
      s.closeBody(1);
      const reads = [10, 11].map((request, i) => {
        s.lookup(20 + i, k, { request });
        s.getBody(30 + i, 20 + i);
        return s.readAll(30 + i);
      });
      s.lookup(22, k, { request: 12 });
      const de = s.get("state", 22);
      s.lookup(23, k);
      const none = s.get("state", 23);
      // A transactional miss on a new variant is an obligation of its own.
      s.txLookup(24, k, { request: 12 });
      const txDe = s.get("state", 24);
      s.txCancel(24);
      const out = await run(s);
      expect(out[reads[0]].text).toBe("hello");
      expect(out[reads[1]].text).toBe("bonjour");
      expect(out[de].value).toBe(0n);
      expect(out[none].value).toBe(0n);
      expect(out[txDe].value).toBe(MUST);
    });

    it("purges core objects by surrogate key through fastly_purge, hard or soft", async () => {
      const red = key("purge-red");
      const blue = key("purge-blue");
      const soft = key("purge-soft");
      const tag = key("tag");
      const s = new CacheScript();
      // Keys that are not visible ASCII are ignored, as the platform documents; the others still apply.
      for (const [k, keys] of [[red, `${tag}-red  ${tag}-all caf\u00e9 ${"x".repeat(1025)}`], [blue, `${tag}-blue ${tag}-all`]]) {
        s.insert(1, k, { surrogateKeys: keys });
        s.write(1, k);
        s.closeBody(1);
      }
      s.insert(1, soft, { surrogateKeys: `${tag}-soft`, swrNs: 60n * SECOND });
      s.write(1, "soft");
      s.closeBody(1);
      const purge = s.purge(`${tag}-red`);
      const softPurge = s.purge(`${tag}-soft`, true);
      s.lookup(2, red);
      const redState = s.get("state", 2);
      s.lookup(3, blue);
      const blueState = s.get("state", 3);
      s.lookup(4, soft);
      const softState = s.get("state", 4);
      const out = await run(s);
      expect(out[purge].status).toBe(OK);
      expect(out[softPurge].status).toBe(OK);
      expect(out[redState].value).toBe(0n);
      expect(out[blueState].value).toBe(FRESH);
      expect(out[softState].value).toBe(STALE);

      const t = new CacheScript();
      t.purge(`${tag}-all`);
      t.lookup(1, blue);
      const after = t.get("state", 1);
      expect((await run(t))[after].value).toBe(0n);
    });
  });

  describe("replace", () => {
    it("replaces an object, reading the existing one first", async () => {
      const k = key("replace");
      const s = new CacheScript();
      s.replace(1, k);
      const emptyState = s.get("state", 1, true);
      const emptyLength = s.get("length", 1, true);
      const emptyBody = s.getBody(2, 1, {}, true);
      const emptyMd = s.userMetadata(1, 100, true);
      const first = s.replaceInsert(3, 1, { userMetadata: "one" });
      s.write(3, "version one");
      s.closeBody(3);
      const consumed = s.get("state", 1, true);
      s.replace(4, k, { strategy: 0 });
      const state = s.get("state", 4, true);
      const maxAge = s.get("maxAge", 4, true);
      const hits = s.get("hits", 4, true);
      const md = s.userMetadata(4, 100, true);
      s.getBody(5, 4, { from: 8 }, true);
      const existing = s.readAll(5);
      const asLookup = s.get("state", 4);
      s.replaceInsert(6, 4, { userMetadata: "two", maxAgeNs: 5n * SECOND });
      s.write(6, "version two");
      s.closeBody(6);
      s.lookup(7, k);
      s.getBody(8, 7);
      const now = s.readAll(8);
      const nowMaxAge = s.get("maxAge", 7);
      s.replace(9, k);
      const closeReplace = s.close(9);
      const out = await run(s);
      expect(out[emptyState]).toEqual({ status: OK, value: MUST });
      expect(out[emptyLength].status).toBe(NONE);
      expect(out[emptyBody].status).toBe(NONE);
      expect(out[emptyMd].status).toBe(NONE);
      expect(out[first].status).toBe(OK);
      expect(out[consumed].status).toBe(BADF);
      expect(out[state].value).toBe(FRESH | MUST);
      expect(out[maxAge].value).toBe(60n * SECOND);
      expect(out[hits].value).toBe(0n);
      expect(Buffer.from(out[md].bytes!).toString()).toBe("one");
      expect(out[existing].text).toBe("one");
      expect(out[asLookup].status).toBe(BADF);
      expect(out[now].text).toBe("version two");
      expect(out[nowMaxAge].value).toBe(5n * SECOND);
      expect(out[closeReplace].status).toBe(OK);
    });

    it("force-miss removes the object at once and makes transactions wait for the replacement", async () => {
      const k = key("force-miss");
      const setup = new CacheScript();
      setup.insert(1, k);
      setup.write(1, "old");
      setup.closeBody(1);
      await run(setup);

      const hold = gate(`${k}-replacer`);
      const replacer = new CacheScript();
      replacer.replace(1, k, { strategy: 1 });
      replacer.getBody(2, 1, {}, true);
      const old = replacer.readAll(2);
      replacer.gate(`${k}-replacer`);
      replacer.replaceInsert(3, 1);
      replacer.write(3, "new");
      replacer.closeBody(3);
      const replacerRun = run(replacer);
      await hold.arrived;

      const plain = new CacheScript();
      plain.lookup(1, k);
      const plainState = plain.get("state", 1);
      expect((await run(plain))[plainState].value).toBe(0n);

      const waiter = new CacheScript();
      waiter.txLookup(1, k);
      waiter.getBody(2, 1);
      const body = waiter.readAll(2);
      const waiterRun = run(waiter);
      expect(await stillPending(waiterRun)).toBe(true);
      hold.open();
      expect((await replacerRun)[old].text).toBe("old");
      expect((await waiterRun)[body].text).toBe("new");
    });

    it("the wait strategy queues behind an insert in progress", async () => {
      const k = key("replace-wait");
      const hold = gate(`${k}-holder`);
      const holder = new CacheScript();
      holder.txLookup(1, k);
      holder.gate(`${k}-holder`);
      holder.txInsert(2, 1);
      holder.write(2, "inserted first");
      holder.closeBody(2);
      const holderRun = run(holder);
      await hold.arrived;

      const replacer = new CacheScript();
      replacer.replace(1, k, { strategy: 2 });
      const state = replacer.get("state", 1, true);
      replacer.getBody(2, 1, {}, true);
      const existing = replacer.readAll(2);
      replacer.close(1);
      const replacerRun = run(replacer);
      expect(await stillPending(replacerRun)).toBe(true);
      hold.open();
      await holderRun;
      const out = await replacerRun;
      expect(out[state].value).toBe(FRESH | MUST);
      expect(out[existing].text).toBe("inserted first");
    });
  });
});
