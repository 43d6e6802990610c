// Writes a guest's response to the client: the status, the headers with the
// framing the guest asked for, then the body with back-pressure.
import type { ServerResponse } from "node:http";
import type { ResponseHead } from "../engine/protocol.ts";
import type { AssembledBody } from "./body-assembly.ts";

/** Connection-level headers are the server's to set (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade", "transfer-encoding", "content-length"]);

/** RFC 9110 §6.4.1: these responses never carry content. */
export function hasNoBody(status: number, method: string): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** The platform removes these from client responses unless the request asked for `Fastly-Debug`. */
const SURROGATE_HEADERS = new Set(["surrogate-key", "surrogate-control"]);

export function responseHeaders(head: ResponseHead, manualFraming: boolean, body: AssembledBody, method = "GET", debug = false): string[] {
  const flat: string[] = [];
  let framedByGuest = false;
  for (let i = 0; i + 1 < head.headers.length; i += 2) {
    const name = head.headers[i];
    if (!debug && SURROGATE_HEADERS.has(name)) continue;
    // RFC 9110 §8.6: a HEAD response's Content-Length is the length a GET would have had.
    const keepFraming = (manualFraming && (name === "content-length" || name === "transfer-encoding")) || (method === "HEAD" && name === "content-length");
    if (HOP_BY_HOP.has(name) && !keepFraming && !(name === "connection" && head.headers[i + 1] === "close")) continue;
    if (keepFraming) framedByGuest = true;
    flat.push(name, head.headers[i + 1]);
  }
  // A HEAD response carries no content to measure: only a length the guest (or origin) gave is true.
  if (!framedByGuest && method !== "HEAD" && body.length !== null && !(head.status === 204 || head.status === 304 || head.status < 200)) {
    flat.push("content-length", String(body.length));
  }
  return flat;
}

/**
 * Writes the response; returns a promise only when the body streams (a
 * body complete in memory, the usual case, is written at once, with no
 * promise or stream machinery).
 */
export function writeResponse(
  res: ServerResponse,
  method: string,
  head: ResponseHead,
  manualFraming: boolean,
  body: AssembledBody,
  debug = false,
): Promise<void> | undefined {
  res.writeHead(head.status, responseHeaders(head, manualFraming, body, method, debug));
  if (hasNoBody(head.status, method)) {
    body.release();
    res.end();
    return undefined;
  }
  if (body.bytes) {
    res.end(body.bytes);
    return undefined;
  }
  return streamBody(res, body);
}

async function streamBody(res: ServerResponse, body: AssembledBody): Promise<void> {
  try {
    for await (const chunk of body.chunks) {
      if (res.destroyed) break;
      if (!res.write(chunk)) await drained(res);
    }
  } catch (error) {
    // The body failed midway (origin reset, guest abandoned it): the client must not see it as complete.
    body.release();
    res.destroy(error as Error);
    return;
  }
  if (res.destroyed) {
    body.release();
    return;
  }
  const trailers = body.trailers();
  if (trailers && trailers.length > 0 && res.chunkedEncoding) {
    res.addTrailers(Object.fromEntries(pairs(trailers)));
  }
  res.end();
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}
