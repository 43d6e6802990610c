// Hostile guests: traps, endless loops, memory hogs, sleepers and early
// exits. Each fails alone with the right status while healthy traffic —
// to a second server running examples/hello, and to the hostile guest's
// own well-behaved path on the same server — keeps succeeding, every request.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Status } from "../../runtime/abi/status.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer, type TestServerOptions } from "../helpers/outpost.ts";
import { Results } from "../helpers/results.ts";
import { wat, watFixture } from "../helpers/wat.ts";

const HELLO = "Hello from Outpost!\n";
const hello = wat(readFileSync(new URL("../../examples/hello/src/main.wat", import.meta.url), "utf8"));
const TROUBLE = { headers: { "x-hostile": "yes" } };

let healthy: TestServer;
const servers: TestServer[] = [];

beforeAll(async () => {
  healthy = await warm(await serve(hello));
});

afterAll(async () => {
  await Promise.all([healthy, ...servers].map((server) => server.close()));
});

async function start(fixture: string, options: TestServerOptions = {}): Promise<TestServer> {
  const server = await serve(watFixture(fixture), { workers: 2, ...options });
  servers.push(server);
  return warm(server);
}

/** Waits for the workers to boot and to run the guest once, so that start-up is not charged to what follows. */
async function warm(server: TestServer): Promise<TestServer> {
  const responses = await Promise.all(Array.from({ length: 8 }, () => server.get("/warm-up")));
  await Promise.all(responses.map((response) => response.arrayBuffer()));
  return server;
}

/**
 * Runs `during` while batches of healthy requests go to the hello server and
 * to `server`'s well-behaved path (answering `fine`), until it has settled;
 * every one of them must succeed.
 */
async function underLoad<T>(server: TestServer, during: () => Promise<T>, fine = "ok\n"): Promise<T> {
  let done = false;
  let sent = 0;
  const failures: string[] = [];
  const check = async (url: string, body: string) => {
    sent++;
    try {
      const response = await fetch(url);
      const text = await response.text();
      if (response.status !== 200 || text !== body) failures.push(`${url}: ${response.status} ${JSON.stringify(text)}`);
    } catch (error) {
      failures.push(`${url}: ${(error as Error).message}`);
    }
  };
  const load = (async () => {
    do {
      await Promise.all([
        ...Array.from({ length: 12 }, (_, i) => check(`${healthy.url}/healthy/${i}`, HELLO)),
        ...Array.from({ length: 6 }, (_, i) => check(`${server.url}/fine/${i}`, fine)),
      ]);
    } while (!done);
  })();
  try {
    return await during();
  } finally {
    done = true;
    await load;
    const notices = [...healthy.logger.lines, ...server.logger.lines].filter((line) => /^(error|warning):/.test(line));
    expect(failures, notices.join("\n")).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(18);
  }
}

/** The server's error lines about requests to `path`. */
function errorsFor(server: TestServer, path: string): string[] {
  return server.logger.lines.filter((line) => line.startsWith("error:") && line.includes(` ${path}: `));
}

/** Retries `check` until it passes: log lines may land just after the client has its answer. */
const eventually = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 20 });

describe("a guest that traps", () => {
  it("gives its client a 500 and logs the trap, and nobody else notices", async () => {
    const server = await start("hostile-trap");
    const responses = await underLoad(server, () =>
      Promise.all(Array.from({ length: 4 }, (_, i) => server.get(`/trap/${i}`, TROUBLE))),
    );
    for (const response of responses) {
      expect(response.status).toBe(500);
      expect(await response.text()).toContain("unreachable");
    }
    await eventually(() => {
      for (let i = 0; i < 4; i++) expect(errorsFor(server, `/trap/${i}`)).toEqual([expect.stringContaining("guest trapped: unreachable")]);
      expect(server.logger.requests.filter((entry) => entry.path.startsWith("/trap/")).map((entry) => entry.status)).toEqual([500, 500, 500, 500]);
    });
  });
});

describe("a guest in an endless loop without host calls", () => {
  it("gets a 503 at the CPU limit; its worker is replaced and later requests work", async () => {
    const server = await start("hostile-spin", { limits: { cpuMs: 100 } });
    for (const attempt of [1, 2]) {
      const started = performance.now();
      const response = await underLoad(server, () => server.get(`/spin/${attempt}`, TROUBLE));
      expect(response.status).toBe(503);
      expect(await response.text()).toContain("CPU time limit of 100 ms");
      expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    }
    const replaced = server.logger.lines.filter((line) => /worker \d+ replaced: CPU time limit exceeded/.test(line));
    expect(replaced).toHaveLength(2);
    expect(server.runtime.workerCount).toBe(2);
    const after = await Promise.all(Array.from({ length: 20 }, () => server.get("/after")));
    expect(after.map((r) => r.status)).toEqual(new Array(20).fill(200));
    expect(await Promise.all(after.map((r) => r.text()))).toEqual(new Array(20).fill("ok\n"));
  });
});

describe("a guest that loops forever after answering", () => {
  it("has its answer delivered whole, and is stopped at the CPU limit", async () => {
    const server = await start("hostile-spin", { limits: { cpuMs: 100 } });
    const response = await underLoad(server, async () => {
      const answered = await server.get("/answer-then-spin", { headers: { "x-hostile": "a" } });
      const result = { status: answered.status, body: await answered.text() };
      await eventually(() => expect(errorsFor(server, "/answer-then-spin")).toHaveLength(1));
      return result;
    });
    expect(response).toEqual({ status: 200, body: "ok\n" });
    expect(errorsFor(server, "/answer-then-spin")).toEqual([expect.stringContaining("CPU time limit of 100 ms")]);
  });
});

describe("a guest in an endless loop of cheap host calls", () => {
  it("gets a 503 at the CPU limit", async () => {
    const server = await start("hostile-spin-hostcalls", { limits: { cpuMs: 100 } });
    const response = await underLoad(server, () => server.get("/busy", TROUBLE));
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("CPU time limit of 100 ms");
    expect((await server.get("/after")).status).toBe(200);
  });
});

describe("a guest that recurses without end", () => {
  it("gets a 500 for its stack overflow, and nobody else notices", async () => {
    const server = await start("hostile-recursion");
    const responses = await underLoad(server, () =>
      Promise.all(Array.from({ length: 3 }, (_, i) => server.get(`/recurse/${i}`, TROUBLE))),
    );
    expect(responses.map((r) => r.status)).toEqual([500, 500, 500]);
    expect(await responses[0].text()).toMatch(/guest trapped: .*stack/i);
  });
});

describe("a guest that opens handles without end", () => {
  it("is refused with limitexceeded at the handle limit, and can still answer", async () => {
    const server = await start("hostile-handles", { limits: { cpuMs: 5_000 } });
    const response = await underLoad(server, () => server.get("/handles", TROUBLE));
    expect(response.status).toBe(200);
    const r = await Results.of(response);
    expect(r.u32()).toBe(Status.LIMITEXCEEDED);
    // The client's request body holds one of the 65,536 body handles.
    expect(r.u32()).toBe(65_536 - 1);
  });
});

describe("a guest that piles up header fields", () => {
  it("is refused with limitexceeded once the fields it holds reach its memory limit, and can still answer", async () => {
    const server = await start("hostile-fields", { limits: { memoryBytes: 16 * 2 ** 20, cpuMs: 5_000 } });
    const response = await underLoad(server, () => server.get("/fields", TROUBLE));
    expect(response.status).toBe(200);
    const r = await Results.of(response);
    // Setting one field 5,000 times over holds one value: never refused.
    expect(r.u32()).toBe(Status.OK);
    expect(r.u32()).toBe(Status.LIMITEXCEEDED);
    // 16 MiB of memory, less the 60 KiB field set above, in 60 KiB values.
    const appended = r.u32();
    expect(appended).toBeGreaterThan(250);
    expect(appended).toBeLessThan(16 * 2 ** 20 / 61_440);
  });
});

describe("a guest that grows its memory past the limit", () => {
  it("finds memory.grow failing at the limit and fails alone with a 500", async () => {
    const server = await start("hostile-memory", { limits: { memoryBytes: 16 * 2 ** 20 } });
    const responses = await underLoad(server, () =>
      Promise.all(Array.from({ length: 3 }, (_, i) => server.get(`/hog/${i}`, TROUBLE))),
    );
    expect(responses.map((r) => r.status)).toEqual([500, 500, 500]);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    await eventually(() => {
      // 16 MiB is 256 pages of 64 KiB: the guest got every one of them, and no more.
      const grown = server.logger.lines.filter((line) => line.includes("stderr :: memory.grow failed at"));
      expect(grown).toEqual(new Array(3).fill(expect.stringMatching(/stderr :: memory\.grow failed at 256 pages$/)));
      expect(errorsFor(server, "/hog/0")).toEqual([expect.stringContaining("guest trapped: unreachable")]);
    });
  });
});

describe("a guest that waits forever", () => {
  let origin: Origin;
  beforeAll(async () => {
    // Never answers /hang.
    origin = await startOrigin((req, res) => {
      if (req.url !== "/hang") res.end("from origin");
    });
  });
  afterAll(() => origin.close());

  it("gets a 503 at the wall-time limit when sleeping", async () => {
    const server = await start("hostile-sleep", { limits: { wallMs: 1000 } });
    const started = performance.now();
    const response = await underLoad(server, () => server.get("/sleep", TROUBLE));
    const elapsed = performance.now() - started;
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("wall-time limit of 1000 ms");
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(15_000);
  });

  it("gets a 503 at the wall-time limit when its origin never answers", async () => {
    const server = await start("concurrency-proxy", { limits: { wallMs: 1000 }, backends: { origin: origin.url } });
    const started = performance.now();
    const response = await underLoad(server, () => server.get("/hang"), "from origin");
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("wall-time limit of 1000 ms");
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(origin.requests.some((request) => request.url === "/hang")).toBe(true);
  });
});

describe("a guest that calls proc_exit", () => {
  it("may exit with 0 after answering; exiting with 3 without an answer gives a 500", async () => {
    const server = await start("hostile-exit");
    const [clean, failedAfter, failed] = await underLoad(server, () =>
      Promise.all([
        server.get("/exit-0-after-answer", { headers: { "x-hostile": "r" } }),
        server.get("/exit-3-after-answer", { headers: { "x-hostile": "f" } }),
        server.get("/exit-3", { headers: { "x-hostile": "x" } }),
      ]),
    );
    expect(clean.status).toBe(200);
    expect(await clean.text()).toBe("ok\n");
    // The client already has its answer; the failure is only logged.
    expect(failedAfter.status).toBe(200);
    expect(await failedAfter.text()).toBe("ok\n");
    expect(failed.status).toBe(500);
    expect(await failed.text()).toContain("guest exited with code 3");
    await eventually(() => {
      expect(errorsFor(server, "/exit-3-after-answer")).toEqual([expect.stringContaining("guest exited with code 3")]);
      expect(errorsFor(server, "/exit-3")).toEqual([expect.stringContaining("guest exited with code 3")]);
      // Every run has ended (and been logged): the clean exit left no error.
      expect(server.logger.requests.filter((entry) => entry.path.startsWith("/exit-"))).toHaveLength(3);
    });
    expect(errorsFor(server, "/exit-0-after-answer")).toEqual([]);
  });
});
