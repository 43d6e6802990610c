// Reusable sandboxes (`fastly_http_downstream::next_request*`): a guest that
// asks for more requests serves them in the same instance, each with its own
// downstream request, until it stops asking or its wait times out.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { watFixture } from "../helpers/wat.ts";

describe("a reusable sandbox", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(watFixture("reusable-sandbox"), { workers: 1 });
  });
  afterAll(() => server.close());

  /** The guest's counter and the URI it saw. */
  async function ask(path: string): Promise<[number, string]> {
    const response = await server.get(path);
    expect(response.status).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    return [bytes.readUInt32LE(0), bytes.subarray(4).toString()];
  }

  it("serves request after request in one instance, each with its own request", async () => {
    const [first, uri] = await ask("/one");
    expect(uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/one$/);
    for (let i = 1; i <= 5; i++) {
      // The sandbox tells the main thread it waits just after answering; a request sent
      // in that instant starts a fresh instance instead (allowed: reuse is never promised).
      await new Promise((resolve) => setTimeout(resolve, 20));
      const [count, next] = await ask(`/again/${i}`);
      expect(count).toBe(first + i);
      expect(next).toMatch(new RegExp(`/again/${i}$`));
    }
  });

  it("ends when no request comes within its timeout, and the next request starts afresh", async () => {
    await ask("/warm");
    // The fixture waits 1 s for a next request (long enough that a busy machine
    // between two requests of the test above does not end the sandbox early).
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect((await ask("/fresh"))[0]).toBe(1);
  });

  it("answers every one of many concurrent requests", async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => ask(`/burst/${i}`)));
    answers.forEach(([count, uri], i) => {
      expect(count).toBeGreaterThan(0);
      expect(uri).toMatch(new RegExp(`/burst/${i}$`));
    });
  });
});
