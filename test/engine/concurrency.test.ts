// Many slow origin requests at once: a guest that forwards each request to
// an origin taking 200 ms must not hold a worker while it waits, so 1,000
// concurrent requests finish in about the time of a few origin round trips,
// not one after another.
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { watFixture } from "../helpers/wat.ts";

const REQUESTS = 1_000;
const ORIGIN_DELAY_MS = 200;

describe("concurrency", () => {
  let origin: Origin;
  let server: TestServer;
  let client: Pool;

  beforeAll(async () => {
    origin = await startOrigin((req, res) => {
      setTimeout(() => res.end(`answer for ${req.url}`), ORIGIN_DELAY_MS);
    });
    server = await serve(watFixture("concurrency-proxy"), { workers: 2, backends: { origin: origin.url } });
    client = new Pool(server.url, { connections: REQUESTS });
    // Boot the workers before timing anything.
    const warm = await Promise.all([1, 2, 3, 4].map(() => client.request({ path: "/warm-up", method: "GET" })));
    await Promise.all(warm.map((response) => response.body.text()));
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await origin?.close();
  });

  it(`completes ${REQUESTS} concurrent requests to a ${ORIGIN_DELAY_MS} ms origin in a few round trips`, async () => {
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const response = await client.request({ path: `/item/${i}`, method: "GET" });
        return { status: response.statusCode, body: await response.body.text() };
      }),
    );
    const elapsed = performance.now() - started;
    console.log(`${REQUESTS} concurrent requests through a ${ORIGIN_DELAY_MS} ms origin took ${elapsed.toFixed(0)} ms`);

    answers.forEach((answer, i) => expect(answer).toEqual({ status: 200, body: `answer for /item/${i}` }));
    expect(origin.requests.filter((request) => request.url.startsWith("/item/"))).toHaveLength(REQUESTS);
    // One after another would take 200 s; a few round trips on a loaded machine stay far below 10 s.
    expect(elapsed).toBeLessThan(10_000);
  });
});
