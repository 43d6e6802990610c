// The ABI's cross-cutting conventions, seen from inside real guests: each
// WAT fixture makes host calls and writes the statuses and out-values it
// got to its response body, and the test asserts the exact codes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Status } from "../../runtime/abi/status.ts";
import { Errno } from "../../runtime/hostcalls/wasi.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { Results } from "../helpers/results.ts";
import { watFixture } from "../helpers/wat.ts";

const servers: TestServer[] = [];
let origin: Origin;

async function start(fixture: string, options: Parameters<typeof serve>[1] = {}): Promise<TestServer> {
  const server = await serve(watFixture(fixture), { workers: 1, ...options });
  servers.push(server);
  return server;
}

beforeAll(async () => {
  origin = await startOrigin((_req, res) => {
    // Not cacheable: every send must reach the origin.
    res.setHeader("cache-control", "private");
    res.end("from origin");
  });
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await origin.close();
});

/** The guest's errors and notices, for failure messages. */
function errors(server: TestServer): string {
  return server.logger.lines.filter((line) => /error|stderr|warning/.test(line)).join("\n");
}

describe("guest pointers", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await start("abi-pointers");
  });

  /** Runs the probe and names what it reports (see the fixture's header). */
  async function probe(path: string) {
    const response = await server.get(path);
    expect(response.status, errors(server)).toBe(299);
    const r = await Results.of(response);
    const zero = { newStatus: r.u32(), handle: r.u32(), statusSet: r.u32(), statusGet: r.u32(), status: r.u32(), uriGet: r.u32(), uri: r.text() };
    const bounds = [r.u32(), r.u32(), r.u32(), r.u32(), r.u32(), r.u32()];
    const align = [r.u32(), r.u32(), r.u32(), r.u32()];
    const oddLength = r.u32();
    expect(r.remaining).toBe(0);
    return { zero, bounds, align, oddLength };
  }

  it("treats address 0 as an ordinary address", async () => {
    const { zero } = await probe("/zero?x=1");
    expect(zero).toEqual({
      newStatus: Status.OK,
      handle: expect.any(Number),
      statusSet: Status.OK,
      statusGet: Status.OK,
      status: 299,
      uriGet: Status.OK,
      uri: `${server.url}/zero?x=1`,
    });
    expect(zero.handle).not.toBe(0xaaaaaaaa); // the handle landed at address 0
  });

  it("answers inval for pointers and lengths outside memory, including ptr+len wrapping around 2^32", async () => {
    const { bounds } = await probe("/bounds");
    expect(bounds).toEqual([
      Status.INVAL, // out-pointer at the end of memory
      Status.INVAL, // buffer running past the end
      Status.INVAL, // nwritten past the end
      Status.INVAL, // header name 0xFFFFFFF0 + 0x20
      Status.INVAL, // body write 16 + 0xFFFFFFF8
      Errno.FAULT, // the same for WASI: EFAULT
    ]);
  });

  it("answers badalign for misaligned typed out-pointers, and takes byte buffers at any address", async () => {
    const { align, oddLength } = await probe("/align");
    expect(align).toEqual([
      Status.BADALIGN, // handle at 1
      Status.BADALIGN, // u16 at 1
      Status.BADALIGN, // u32 at 2
      Status.OK, // bytes at an odd address
    ]);
    expect(oddLength).toBe(`${server.url}/align`.length);
  });

  it("keeps serving after a guest's bad pointers, and never trapped", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => probe(`/again/${i}`)));
    expect(results.every(({ bounds }) => bounds[0] === Status.INVAL)).toBe(true);
    expect(server.logger.lines.filter((line) => line.startsWith("error:"))).toEqual([]);
  });
});

describe("handles", () => {
  it("answers badf for closed, consumed, made-up and wrong-kind handles", async () => {
    const server = await start("abi-handles", { backends: { origin: origin.url } });
    const response = await server.get("/");
    expect(response.status, errors(server)).toBe(200);
    const r = await Results.of(response);
    const expected = [
      ["close a new body", Status.OK],
      ["write a closed body", Status.BADF],
      ["close it again", Status.BADF],
      ["write body 12345", Status.BADF],
      ["status_set on response 9999", Status.BADF],
      ["uri_get on request 777777", Status.BADF],
      ["read INVALID_HANDLE", Status.BADF],
      ["send_downstream made-up handles", Status.BADF],
      ["send", Status.OK],
      ["uri_get on the sent request", Status.BADF],
      ["write the sent body", Status.BADF],
      ["send the sent request again", Status.BADF],
      ["close the origin's response", Status.OK],
      ["status_get on the closed response", Status.BADF],
      ["send_async", Status.OK],
      ["write to a pending request handle", Status.BADF],
      ["pending_req_wait", Status.OK],
      ["pending_req_wait again", Status.BADF],
      ["close a new request", Status.OK],
      ["method_get on the closed request", Status.BADF],
    ] as const;
    const got = expected.map(([what]) => [what, r.u32()]);
    expect(got).toEqual(expected);
    expect(r.remaining).toBe(0);
    expect(origin.requests.length).toBeGreaterThanOrEqual(2);
  });
});

describe("values that do not fit", () => {
  it("answer buflen with the size needed, leave the buffer alone, and fit a buffer of exactly that size", async () => {
    const server = await start("abi-buflen");
    const response = await server.get("/a/longer/path?q=1", { headers: { "x-long": "abcdefghij" } });
    expect(response.status, errors(server)).toBe(200);
    const uri = `${server.url}/a/longer/path?q=1`;
    const r = await Results.of(response);
    expect(r.u32()).toBe(Status.BUFLEN);
    expect(r.u32()).toBe(uri.length);
    expect(r.u32()).toBe("~".charCodeAt(0));
    expect(r.u32()).toBe(Status.BUFLEN); // one byte short
    expect(r.u32()).toBe(Status.OK);
    expect(r.u32()).toBe(uri.length);
    expect(r.text()).toBe(uri);
    expect(r.u32()).toBe(Status.BUFLEN); // method into 0 bytes
    expect(r.u32()).toBe(3);
    expect(r.u32()).toBe(Status.BUFLEN); // header value into 2 bytes
    expect(r.u32()).toBe(10);
    expect(r.u32()).toBe(Status.OK);
    expect(r.text()).toBe("abcdefghij");
    expect(r.remaining).toBe(0);
  });
});

describe("the multi-value cursor protocol", () => {
  it("writes whole NUL-terminated items from the cursor and reports where to go on", async () => {
    const server = await start("abi-multi-value");
    const response = await server.get("/");
    expect(response.status, errors(server)).toBe(200);
    // The headers the guest built reach the client too.
    expect(response.headers.get("x-a")).toBe("1");
    expect(response.headers.get("x-bb")).toBe("22, second");
    expect(response.headers.get("x-ccc")).toBe("333");
    expect(response.headers.get("x-set")).toBe("a, b");
    const r = await Results.of(response);
    const calls = Array.from({ length: 11 }, () => ({ status: r.u32(), ending: r.i64(), nwritten: r.u32(), bytes: r.text() }));
    expect(r.remaining).toBe(0);
    expect(calls).toEqual([
      { status: Status.OK, ending: -1n, nwritten: 21, bytes: "x-a\0x-bb\0x-ccc\0x-set\0" },
      { status: Status.OK, ending: 2n, nwritten: 9, bytes: "x-a\0x-bb\0" },
      { status: Status.OK, ending: 1n, nwritten: 4, bytes: "x-a\0" },
      { status: Status.OK, ending: -1n, nwritten: 12, bytes: "x-ccc\0x-set\0" },
      { status: Status.BUFLEN, ending: -1n, nwritten: 5, bytes: "" },
      { status: Status.OK, ending: -1n, nwritten: 0, bytes: "" },
      { status: Status.OK, ending: -1n, nwritten: 10, bytes: "22\0second\0" },
      { status: Status.OK, ending: 1n, nwritten: 3, bytes: "22\0" },
      { status: Status.BUFLEN, ending: -1n, nwritten: 7, bytes: "" },
      { status: Status.OK, ending: -1n, nwritten: 4, bytes: "a\0b\0" },
      { status: Status.OK, ending: -1n, nwritten: 0, bytes: "" },
    ]);
  });
});

describe("absent headers", () => {
  it("are inval for header_value_get and header_remove, and an empty list for header_values_get", async () => {
    const server = await start("abi-missing-header");
    const response = await server.get("/");
    expect(response.status, errors(server)).toBe(200);
    expect(response.headers.has("x-here")).toBe(false);
    const r = await Results.of(response);
    expect([r.u32(), r.u32(), r.u32(), r.u32(), r.u32(), r.u32(), r.u32()]).toEqual([
      Status.INVAL,
      Status.INVAL,
      Status.INVAL,
      Status.OK,
      Status.OK,
      Status.INVAL,
      Status.INVAL,
    ]);
    expect(r.u32()).toBe(Status.OK);
    expect(r.i64()).toBe(-1n);
    expect(r.u32()).toBe(0);
    expect(r.remaining).toBe(0);
  });
});

describe("send_downstream", () => {
  it("sends one response per request: a second one is an error and the first stays", async () => {
    const server = await start("abi-double-send");
    const response = await server.get("/");
    expect(response.status, errors(server)).toBe(200);
    const r = await Results.of(response);
    expect(r.raw(5)).toBe("first");
    expect(r.u32()).toBe(Status.OK);
    expect(r.u32()).toBe(Status.ERROR);
    expect(r.u32()).toBe(Status.BADF);
    expect(r.remaining).toBe(0);
  });
});

describe("fastly_abi::init", () => {
  it("accepts version 1 and refuses any other", async () => {
    const server = await start("abi-init");
    const r = await Results.of(await server.get("/"));
    expect([r.u32(), r.u32(), r.u32(), r.u32(), r.u32(), r.u32()]).toEqual([
      Status.OK,
      Status.ERROR,
      Status.ERROR,
      Status.ERROR,
      Status.ERROR,
      Status.OK,
    ]);
  });
});

describe("ABI functions the host does not implement", () => {
  it("answer unsupported, write nothing, and let the guest carry on", async () => {
    const server = await start("abi-unsupported", { backends: { origin: origin.url } });
    const response = await server.get("/");
    expect(response.status, errors(server)).toBe(200);
    const r = await Results.of(response);
    expect(r.u32()).toBe(Status.UNSUPPORTED);
    expect(r.u32()).toBe(0xaaaaaaaa);
    expect(r.remaining).toBe(0);
  });
});
