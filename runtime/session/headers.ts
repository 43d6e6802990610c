// An HTTP header map as the ABI exposes it: names are case-insensitive and
// listed lower-case in first-insertion order; each name holds one or more
// values in order. Names and values are latin1 strings so that any byte a
// guest writes round-trips exactly.
import { HostError, Status } from "../abi/status.ts";

// RFC 9110 §5.6.2 token characters.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 §5.5: field values exclude CR, LF, NUL and other controls except HTAB.
const INVALID_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

export const MAX_HEADER_NAME_LENGTH = 65535;

export function checkHeaderName(name: string): string {
  if (name.length > MAX_HEADER_NAME_LENGTH) throw new HostError(Status.INVAL, "header name too long");
  if (!TOKEN.test(name)) throw new HostError(Status.ERROR, `invalid header name ${JSON.stringify(name)}`);
  return name.toLowerCase();
}

export function checkHeaderValue(value: string): string {
  if (INVALID_VALUE.test(value)) throw new HostError(Status.ERROR, "invalid byte in header value");
  return value;
}

export class Headers {
  private readonly map = new Map<string, string[]>();

  /** Builds from a flat [name, value, name, value, ...] list without validating (host input). */
  static fromFlat(flat: readonly string[]): Headers {
    const headers = new Headers();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = flat[i].toLowerCase();
      const values = headers.map.get(name);
      if (values) values.push(flat[i + 1]);
      else headers.map.set(name, [flat[i + 1]]);
    }
    return headers;
  }

  clone(): Headers {
    const copy = new Headers();
    for (const [name, values] of this.map) copy.map.set(name, [...values]);
    return copy;
  }

  names(): string[] {
    return [...this.map.keys()];
  }

  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase())?.[0];
  }

  getAll(name: string): readonly string[] {
    return this.map.get(name.toLowerCase()) ?? [];
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  /** Replaces every value of `name`. */
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), [value]);
  }

  setAll(name: string, values: string[]): void {
    if (values.length === 0) this.map.delete(name.toLowerCase());
    else this.map.set(name.toLowerCase(), values);
  }

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const values = this.map.get(key);
    if (values) values.push(value);
    else this.map.set(key, [value]);
  }

  delete(name: string): boolean {
    return this.map.delete(name.toLowerCase());
  }

  /** Flat [name, value, ...] list for the wire. */
  toFlat(): string[] {
    const flat: string[] = [];
    for (const [name, values] of this.map) for (const value of values) flat.push(name, value);
    return flat;
  }

  get size(): number {
    return this.map.size;
  }
}
