// Sending a guest's request to a backend with undici, and turning what goes
// wrong into the ABI's status and `$send_error_detail_tag`.
import { Readable } from "node:stream";
import { type Dispatcher, errors } from "undici";
import { createGunzip } from "node:zlib";
import { SendErrorDetailTag } from "../abi/constants.ts";
import { SendError, Status } from "../abi/status.ts";
import type { RequestHead } from "../engine/protocol.ts";
import type { Backend } from "./backend.ts";

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1); undici frames the message itself. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "expect", "host"]);

export interface UpstreamRequest {
  head: RequestHead;
  /** The body, or null for none. */
  body: AsyncIterable<Uint8Array> | Uint8Array | null;
  /** Body length when known, to send Content-Length instead of chunked framing. */
  bodyLength: number | null;
  manualFraming: boolean;
  signal?: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  /** Flat [name, value, ...] list. */
  headers: string[];
  body: Readable;
  /** Content-Length of `body`, or -1. */
  length: number;
  trailers: () => string[];
}

/** The request target: the backend's path prefix plus the URI's path and query. */
export function targetPath(backend: Backend, uri: string): string {
  let pathAndQuery = uri;
  if (!uri.startsWith("/")) {
    try {
      const url = new URL(uri);
      pathAndQuery = url.pathname + url.search;
    } catch {
      pathAndQuery = "/";
    }
  }
  return backend.pathPrefix + pathAndQuery;
}

/** Host: the backend's override, else the request's Host, else the URI's authority, else the backend's host. */
function hostHeader(backend: Backend, head: RequestHead, requestHost: string | undefined): string {
  if (backend.config.overrideHost) return backend.config.overrideHost;
  if (requestHost) return requestHost;
  try {
    const url = new URL(head.uri);
    if (url.host) return url.host;
  } catch {
    // a relative URI has no authority
  }
  const defaultPort = backend.ssl ? 443 : 80;
  return backend.port === defaultPort ? backend.host : `${backend.host}:${backend.port}`;
}

export async function sendUpstream(backend: Backend, request: UpstreamRequest): Promise<UpstreamResponse> {
  const headers: string[] = [];
  let requestHost: string | undefined;
  const flat = request.head.headers;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i].toLowerCase();
    if (name === "host") requestHost ??= flat[i + 1];
    if (HOP_BY_HOP.has(name)) continue;
    if (name === "content-length" && !request.manualFraming) continue;
    headers.push(name, flat[i + 1]);
  }
  headers.push("host", hostHeader(backend, request.head, requestHost));
  if (!request.manualFraming && request.bodyLength !== null && request.body !== null && !(request.body instanceof Uint8Array)) {
    headers.push("content-length", String(request.bodyLength));
  }
  let response: Dispatcher.ResponseData;
  try {
    const options: Dispatcher.RequestOptions & { servername: string } = {
      path: targetPath(backend, request.head.uri),
      method: request.head.method,
      headers,
      body: request.body === null || request.body instanceof Uint8Array ? request.body : Readable.from(request.body, { objectMode: false }),
      signal: request.signal,
      servername: backend.requestServername,
    };
    response = await backend.pool.request(options);
  } catch (error) {
    throw classifyUpstreamError(error, backend);
  }
  const responseHeaders: string[] = [];
  let length = -1;
  for (const [name, value] of Object.entries(response.headers)) {
    if (name === "content-length") length = Number(value);
    for (const item of Array.isArray(value) ? value : [value ?? ""]) responseHeaders.push(name, item);
  }
  return {
    status: response.statusCode,
    headers: responseHeaders,
    body: response.body,
    length,
    trailers: () => Object.entries(response.trailers).flatMap(([name, value]) => [name, String(value)]),
  };
}

/**
 * `auto_decompress_response_set(gzip)`: a gzip-encoded response, decoded,
 * without the Content-Encoding and Content-Length that described the encoded
 * form. Applied after the cache, which stores what the origin sent.
 */
export function gunzipped<R extends { headers: string[]; body: Readable | null; length: number }>(response: R): R {
  const headers = response.headers;
  const encoding = headers.findIndex((name, i) => i % 2 === 0 && name === "content-encoding");
  if (encoding < 0 || !/^(x-)?gzip$/i.test(headers[encoding + 1].trim()) || !response.body) return response;
  const kept: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i] !== "content-encoding" && headers[i] !== "content-length") kept.push(headers[i], headers[i + 1]);
  }
  const source = response.body;
  const gunzip = createGunzip();
  source.on("error", (error) => gunzip.destroy(error));
  return { ...response, headers: kept, body: source.pipe(gunzip), length: -1 };
}

/** Maps an undici or socket error to the status the guest gets, and why. */
export function classifyUpstreamError(error: unknown, backend: Backend): SendError {
  const code = (error as { code?: string }).code ?? "";
  const message = `backend ${backend.config.name}: ${(error as Error).message ?? String(error)}`;
  const fail = (status: Status, detail: number) => new SendError(status, message, detail);
  // undici's parser errors carry no code when llhttp's reason has no name.
  if (error instanceof errors.HTTPParserError || code.startsWith("HPE_")) {
    return fail(Status.HTTPINVALID, SendErrorDetailTag.HTTP_PROTOCOL_ERROR);
  }
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return fail(Status.ERROR, SendErrorDetailTag.CONNECTION_TIMEOUT);
    case "ECONNREFUSED":
      return fail(Status.ERROR, SendErrorDetailTag.CONNECTION_REFUSED);
    case "ENOTFOUND":
    case "EAI_FAIL":
    case "EAI_NONAME":
      return fail(Status.ERROR, SendErrorDetailTag.DNS_ERROR);
    case "EAI_AGAIN":
      return fail(Status.ERROR, SendErrorDetailTag.DNS_TIMEOUT);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EADDRNOTAVAIL":
      return fail(Status.ERROR, SendErrorDetailTag.DESTINATION_IP_UNROUTABLE);
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return fail(Status.ERROR, SendErrorDetailTag.HTTP_RESPONSE_TIMEOUT);
    case "UND_ERR_HEADERS_OVERFLOW":
      return fail(Status.HTTPHEADTOOLARGE, SendErrorDetailTag.HTTP_RESPONSE_HEADER_SECTION_TOO_LARGE);
    case "UND_ERR_RES_CONTENT_LENGTH_MISMATCH":
      return fail(Status.HTTPINCOMPLETE, SendErrorDetailTag.HTTP_INCOMPLETE_RESPONSE);
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
    case "UND_ERR_CLOSED":
      return fail(Status.HTTPINCOMPLETE, SendErrorDetailTag.CONNECTION_TERMINATED);
    case "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH":
    case "UND_ERR_INVALID_ARG":
      return fail(Status.HTTPUSER, SendErrorDetailTag.INTERNAL_ERROR);
  }
  // The origin refused the handshake with an alert (e.g. it wanted a client certificate).
  // (OpenSSL 3 spells these ERR_SSL_SSL/TLS_ALERT_*, ERR_SSL_TLSV13_ALERT_*, ...)
  if (/^ERR_SSL_.*_ALERT_/.test(code)) return fail(Status.ERROR, SendErrorDetailTag.TLS_ALERT_RECEIVED);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    return fail(Status.ERROR, SendErrorDetailTag.TLS_CERTIFICATE_ERROR);
  }
  if (code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || code === "EPROTO") {
    return fail(Status.ERROR, SendErrorDetailTag.TLS_PROTOCOL_ERROR);
  }
  return fail(Status.ERROR, SendErrorDetailTag.INTERNAL_ERROR);
}
