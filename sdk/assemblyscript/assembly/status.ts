// Status codes and the SDK's error type.
//
// AssemblyScript has no `try`/`catch`: a `throw` stops the request (the host
// answers 500 and logs the message). So every call that can fail for reasons
// an app should handle has a form that returns the failure instead: a
// `Result<T>`, a `FastlyError | null`, or `null` for "absent".
import { panic } from "./console";

/** `fastly_status`: what every host call returns. */
export enum Status {
  OK = 0,
  ERROR = 1,
  INVAL = 2,
  BADF = 3,
  BUFLEN = 4,
  UNSUPPORTED = 5,
  BADALIGN = 6,
  HTTP_INVALID = 7,
  HTTP_USER = 8,
  HTTP_INCOMPLETE = 9,
  NONE = 10,
  HTTP_HEAD_TOO_LARGE = 11,
  HTTP_INVALID_STATUS = 12,
  LIMIT_EXCEEDED = 13,
  AGAIN = 14,
}

/** `kv_error`: the outcome of a KV store operation. */
export enum KVError {
  UNINITIALIZED = 0,
  OK = 1,
  BAD_REQUEST = 2,
  NOT_FOUND = 3,
  PRECONDITION_FAILED = 4,
  PAYLOAD_TOO_LARGE = 5,
  INTERNAL_ERROR = 6,
  TOO_MANY_REQUESTS = 7,
}

/** `send_error_detail_tag`: why a request to a backend failed. */
export enum SendErrorDetail {
  UNINITIALIZED = 0,
  OK = 1,
  DNS_TIMEOUT = 2,
  DNS_ERROR = 3,
  DESTINATION_NOT_FOUND = 4,
  DESTINATION_UNAVAILABLE = 5,
  DESTINATION_IP_UNROUTABLE = 6,
  CONNECTION_REFUSED = 7,
  CONNECTION_TERMINATED = 8,
  CONNECTION_TIMEOUT = 9,
  CONNECTION_LIMIT_REACHED = 10,
  TLS_CERTIFICATE_ERROR = 11,
  TLS_CONFIGURATION_ERROR = 12,
  HTTP_INCOMPLETE_RESPONSE = 13,
  HTTP_RESPONSE_HEADER_SECTION_TOO_LARGE = 14,
  HTTP_RESPONSE_BODY_TOO_LARGE = 15,
  HTTP_RESPONSE_TIMEOUT = 16,
  HTTP_RESPONSE_STATUS_INVALID = 17,
  HTTP_UPGRADE_FAILED = 18,
  HTTP_PROTOCOL_ERROR = 19,
  HTTP_REQUEST_CACHE_KEY_INVALID = 20,
  HTTP_REQUEST_URI_INVALID = 21,
  INTERNAL_ERROR = 22,
  TLS_ALERT_RECEIVED = 23,
  TLS_PROTOCOL_ERROR = 24,
  H2_ERROR = 25,
}

export function statusName(status: u32): string {
  switch (status) {
    case Status.OK: return "ok";
    case Status.ERROR: return "error";
    case Status.INVAL: return "invalid argument";
    case Status.BADF: return "invalid handle";
    case Status.BUFLEN: return "buffer too small";
    case Status.UNSUPPORTED: return "unsupported";
    case Status.BADALIGN: return "misaligned pointer";
    case Status.HTTP_INVALID: return "invalid HTTP message";
    case Status.HTTP_USER: return "HTTP user error";
    case Status.HTTP_INCOMPLETE: return "incomplete HTTP message";
    case Status.NONE: return "none";
    case Status.HTTP_HEAD_TOO_LARGE: return "HTTP head too large";
    case Status.HTTP_INVALID_STATUS: return "invalid HTTP status";
    case Status.LIMIT_EXCEEDED: return "limit exceeded";
    case Status.AGAIN: return "try again";
  }
  return "status " + status.toString();
}

export function kvErrorName(code: u32): string {
  switch (code) {
    case KVError.OK: return "ok";
    case KVError.BAD_REQUEST: return "bad request";
    case KVError.NOT_FOUND: return "not found";
    case KVError.PRECONDITION_FAILED: return "precondition failed";
    case KVError.PAYLOAD_TOO_LARGE: return "payload too large";
    case KVError.INTERNAL_ERROR: return "internal error";
    case KVError.TOO_MANY_REQUESTS: return "too many requests";
  }
  return "kv error " + code.toString();
}

export function sendErrorName(detail: u32): string {
  switch (detail) {
    case SendErrorDetail.DNS_TIMEOUT: return "DNS timeout";
    case SendErrorDetail.DNS_ERROR: return "DNS error";
    case SendErrorDetail.DESTINATION_NOT_FOUND: return "destination not found";
    case SendErrorDetail.DESTINATION_UNAVAILABLE: return "destination unavailable";
    case SendErrorDetail.DESTINATION_IP_UNROUTABLE: return "destination IP unroutable";
    case SendErrorDetail.CONNECTION_REFUSED: return "connection refused";
    case SendErrorDetail.CONNECTION_TERMINATED: return "connection terminated";
    case SendErrorDetail.CONNECTION_TIMEOUT: return "connection timeout";
    case SendErrorDetail.CONNECTION_LIMIT_REACHED: return "connection limit reached";
    case SendErrorDetail.TLS_CERTIFICATE_ERROR: return "TLS certificate error";
    case SendErrorDetail.TLS_CONFIGURATION_ERROR: return "TLS configuration error";
    case SendErrorDetail.HTTP_INCOMPLETE_RESPONSE: return "incomplete response";
    case SendErrorDetail.HTTP_RESPONSE_HEADER_SECTION_TOO_LARGE: return "response header section too large";
    case SendErrorDetail.HTTP_RESPONSE_BODY_TOO_LARGE: return "response body too large";
    case SendErrorDetail.HTTP_RESPONSE_TIMEOUT: return "response timeout";
    case SendErrorDetail.HTTP_RESPONSE_STATUS_INVALID: return "invalid response status";
    case SendErrorDetail.HTTP_UPGRADE_FAILED: return "upgrade failed";
    case SendErrorDetail.HTTP_PROTOCOL_ERROR: return "HTTP protocol error";
    case SendErrorDetail.HTTP_REQUEST_CACHE_KEY_INVALID: return "invalid cache key";
    case SendErrorDetail.HTTP_REQUEST_URI_INVALID: return "invalid request URI";
    case SendErrorDetail.INTERNAL_ERROR: return "internal error";
    case SendErrorDetail.TLS_ALERT_RECEIVED: return "TLS alert received";
    case SendErrorDetail.TLS_PROTOCOL_ERROR: return "TLS protocol error";
    case SendErrorDetail.H2_ERROR: return "HTTP/2 error";
  }
  return "";
}

/**
 * A failed host call: what was attempted and the status the host answered.
 * `kvError` is set for KV store operations, `detail` for requests to a backend.
 */
export class FastlyError extends Error {
  /** The `fastly_status` the host answered (`Status.OK` when the failure is in `kvError`). */
  status: u32;
  /** For KV store operations: the `KVError` (0 otherwise). */
  kvError: u32 = 0;
  /** For requests to a backend: the `SendErrorDetail` (0 when the host gave none). */
  detail: u32 = 0;

  constructor(status: u32, message: string) {
    super(message);
    this.name = "FastlyError";
    this.status = status;
  }

  /** A KV store operation that ran and failed: `kvError` says how. */
  static kv(code: u32, message: string): FastlyError {
    const error = new FastlyError(Status.OK, message + ": " + kvErrorName(code));
    error.kvError = code;
    return error;
  }

  /** A failed host call: `what` names the operation. */
  static of(status: u32, what: string): FastlyError {
    return new FastlyError(status, what + ": " + statusName(status));
  }

  /** Stops the request with this error's message (`throw` would lose it). */
  raise(): void {
    panic(this.name + ": " + this.message);
  }
}

/** A value, or the error that prevented it. `unwrap()` stops the request on an error. */
export class Result<T> {
  readonly value: T | null;
  readonly error: FastlyError | null;

  constructor(value: T | null, error: FastlyError | null) {
    this.value = value;
    this.error = error;
  }

  static ok<T>(value: T): Result<T> {
    return new Result<T>(value, null);
  }

  static err<T>(error: FastlyError): Result<T> {
    return new Result<T>(null, error);
  }

  get ok(): bool {
    return this.error === null;
  }

  unwrap(): T {
    const error = this.error;
    if (error !== null) error.raise();
    return this.value!;
  }
}

/** Stops the request when `status` is not OK, naming `what` failed. */
export function check(status: u32, what: string): void {
  if (status != Status.OK) FastlyError.of(status, what).raise();
}
