// The KV store's rules, shared by the host calls, the main-thread store, the
// manifest reader and `outpost kv`: the platform's limits on keys, values and
// metadata, the `$kv_error` codes, and the list cursor.
//
// Key rules (https://www.fastly.com/documentation/reference/api/services/resources/kv-store-item/,
// and the SDKs' own checks): 1 to 1024 bytes of UTF-8; not "." or ".."; not
// starting with ".well-known/acme-challenge/"; none of the characters # ; ? ^ |
// nor CR/LF; a single-character key may not be a control character or space.

/** `$kv_error`: the outcome of a KV operation, reported beside an OK status. */
export const KvError = {
  UNINITIALIZED: 0,
  OK: 1,
  BAD_REQUEST: 2,
  NOT_FOUND: 3,
  PRECONDITION_FAILED: 4,
  PAYLOAD_TOO_LARGE: 5,
  INTERNAL_ERROR: 6,
  TOO_MANY_REQUESTS: 7,
} as const;
export type KvError = (typeof KvError)[keyof typeof KvError];

/** What a write or delete came to, as the store reports it. */
export type KvOutcome = "ok" | "not_found" | "precondition_failed" | "bad_request" | "payload_too_large" | "internal_error";

export function kvErrorCode(outcome: KvOutcome): KvError {
  switch (outcome) {
    case "ok":
      return KvError.OK;
    case "not_found":
      return KvError.NOT_FOUND;
    case "precondition_failed":
      return KvError.PRECONDITION_FAILED;
    case "bad_request":
      return KvError.BAD_REQUEST;
    case "payload_too_large":
      return KvError.PAYLOAD_TOO_LARGE;
    case "internal_error":
      return KvError.INTERNAL_ERROR;
    default: {
      const never: never = outcome;
      throw new Error(`unknown KV outcome ${String(never)}`);
    }
  }
}

/** `$kv_insert_mode`. */
export const InsertMode = { OVERWRITE: 0, ADD: 1, APPEND: 2, PREPEND: 3 } as const;
export type InsertMode = (typeof InsertMode)[keyof typeof InsertMode];
export const INSERT_MODE_NAMES = ["overwrite", "add", "append", "prepend"] as const;

export const MAX_KEY_BYTES = 1024;
/** The platform's default largest value (25 MB). */
export const MAX_VALUE_BYTES = 25 * 1024 * 1024;
/**
 * Largest metadata: the Go SDK reads up to 2000 bytes (the JavaScript SDK's
 * documentation says 1000); the larger bound refuses nothing the platform takes.
 */
export const MAX_METADATA_BYTES = 2000;
/** Keys per list page when the guest gives no limit (as the reference emulator). */
export const DEFAULT_LIST_LIMIT = 1000;
/** Store names: as the SDKs check them. */
export const MAX_STORE_NAME_LENGTH = 255;

const FORBIDDEN = /[#;?^|\r\n]/;
const ACME = ".well-known/acme-challenge/";
const encoder = new TextEncoder();

/** Why a key is not allowed, or null when it is. */
export function keyProblem(key: string): string | null {
  const bytes = encoder.encode(key).byteLength;
  if (bytes === 0) return "a key cannot be empty";
  if (bytes > MAX_KEY_BYTES) return `a key is at most ${MAX_KEY_BYTES} bytes of UTF-8 (this one is ${bytes})`;
  if (key === "." || key === "..") return `a key cannot be "${key}"`;
  if (key.startsWith(ACME)) return `a key cannot start with "${ACME}"`;
  const bad = FORBIDDEN.exec(key);
  if (bad) return `a key cannot contain ${describeChar(bad[0])}`;
  if ([...key].length === 1) {
    const code = key.codePointAt(0)!;
    if (code <= 0x20 || code === 0xfffe || code === 0xffff) return `a one-character key cannot be ${describeChar(key)}`;
  }
  return null;
}

/** Why a store name is not allowed, or null. */
export function storeNameProblem(name: string): string | null {
  if (name.length === 0) return "a store name cannot be empty";
  if (name.length > MAX_STORE_NAME_LENGTH) return `a store name is at most ${MAX_STORE_NAME_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return "a store name cannot contain control characters";
  return null;
}

function describeChar(char: string): string {
  if (char === "\n") return "a newline";
  if (char === "\r") return "a carriage return";
  if (char === " ") return "a space";
  const code = char.codePointAt(0)!;
  return code < 0x20 || code >= 0xfffe ? `U+${code.toString(16).toUpperCase().padStart(4, "0")}` : `"${char}"`;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The cursor of the page after `lastKey`: opaque to guests (base64 of the key). */
export function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey, "utf8").toString("base64");
}

/** The key a cursor continues after, or null when it is not one of ours. */
export function decodeCursor(cursor: string): string | null {
  if (cursor.length === 0 || !STRICT_BASE64.test(cursor)) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(cursor, "base64"));
  } catch {
    return null;
  }
}

/** Strict UTF-8 decoding: null for bytes that are not text (keys must be). */
export function utf8OrNull(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}
