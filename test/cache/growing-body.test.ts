import { describe, expect, it } from "vitest";
import { GrowingBody } from "../../runtime/cache/growing-body.ts";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

async function readAll(stream: NodeJS.ReadableStream): Promise<number> {
  let total = 0;
  for await (const chunk of stream) total += (chunk as Uint8Array).byteLength;
  return total;
}

describe("GrowingBody", () => {
  it("streams to readers that start before, during and after the writing", async () => {
    const body = new GrowingBody();
    const early = readAll(body.readable());
    body.append(bytes(10));
    const middle = readAll(body.readable());
    body.append(bytes(20));
    body.end();
    const late = readAll(body.readable());
    expect(await Promise.all([early, middle, late])).toEqual([30, 30, 30]);
  });

  it("shows a writer's failure to its readers instead of a clean end", async () => {
    const body = new GrowingBody();
    const reading = readAll(body.readable());
    body.append(bytes(5));
    body.fail(new Error("origin reset"));
    await expect(reading).rejects.toThrow("origin reset");
  });

  it("once released, keeps only what readers still need and holds the writer back", async () => {
    const body = new GrowingBody();
    const stream = body.readable();
    body.release();
    let accepted = 0;
    // Nobody reads: after about 1 MiB the writer is asked to wait.
    while (body.append(bytes(64 * 1024))) accepted++;
    expect(accepted).toBeLessThan(20);
    let resumed = false;
    body.whenDrained(() => (resumed = true));
    const reading = readAll(stream);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(resumed).toBe(true);
    body.end();
    expect(await reading).toBe((accepted + 1) * 64 * 1024);
  });

  it("is unwanted when released with no reader left", () => {
    const body = new GrowingBody();
    const stream = body.readable();
    body.release();
    expect(body.unwanted).toBe(false);
    stream.destroy();
    expect(body.unwanted).toBe(true);
  });
});

describe("GrowingBody failures", () => {
  it("delivers every byte written before the failure, then the error", async () => {
    const body = new GrowingBody();
    body.append(bytes(1000));
    body.append(bytes(2000));
    body.fail(new Error("cut"));
    let received = 0;
    await expect(
      (async () => {
        for await (const chunk of body.readable()) received += (chunk as Uint8Array).byteLength;
      })(),
    ).rejects.toThrow("cut");
    expect(received).toBe(3000);
  });
});
