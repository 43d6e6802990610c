// The headers of a request or a response, read and written in place on the host.
import * as req from "./abi/http_req";
import * as resp from "./abi/http_resp";
import { getMulti, getString6, utf8 } from "./io";
import { check, Status } from "./status";

const namesOfRequest = (h: u32, _k: usize, _kl: u32, buf: usize, len: u32, cursor: u32, ending: usize, nw: usize): u32 =>
  req.header_names_get(h, buf, len, cursor, ending, nw);
const namesOfResponse = (h: u32, _k: usize, _kl: u32, buf: usize, len: u32, cursor: u32, ending: usize, nw: usize): u32 =>
  resp.header_names_get(h, buf, len, cursor, ending, nw);
const valuesOfRequest = (h: u32, k: usize, kl: u32, buf: usize, len: u32, cursor: u32, ending: usize, nw: usize): u32 =>
  req.header_values_get(h, k, kl, buf, len, cursor, ending, nw);
const valuesOfResponse = (h: u32, k: usize, kl: u32, buf: usize, len: u32, cursor: u32, ending: usize, nw: usize): u32 =>
  resp.header_values_get(h, k, kl, buf, len, cursor, ending, nw);
const valueOfRequest = (h: u32, k: usize, kl: u32, buf: usize, len: u32, nw: usize): u32 => req.header_value_get(h, k, kl, buf, len, nw);
const valueOfResponse = (h: u32, k: usize, kl: u32, buf: usize, len: u32, nw: usize): u32 => resp.header_value_get(h, k, kl, buf, len, nw);

/**
 * Headers of a request or response. Names are case-insensitive (the host
 * lower-cases them); values are text. Changes apply at once.
 */
export class Headers {
  private readonly response: bool;
  private readonly handle: u32;

  constructor(response: bool, handle: u32) {
    this.response = response;
    this.handle = handle;
  }

  /** The first value of `name`, or null. */
  get(name: string): string | null {
    const key = utf8(name);
    // An absent header is `inval` (ABI §6.1).
    return getString6(this.response ? valueOfResponse : valueOfRequest, this.handle, changetype<usize>(key), key.byteLength, Status.INVAL, "read header " + name);
  }

  /** Every value of `name`, in order (none: an empty array). */
  getAll(name: string): string[] {
    const key = utf8(name);
    return getMulti(this.response ? valuesOfResponse : valuesOfRequest, this.handle, changetype<usize>(key), key.byteLength, "read header " + name);
  }

  has(name: string): bool {
    return this.get(name) !== null;
  }

  /** The header names, lower-case, each once. */
  keys(): string[] {
    return getMulti(this.response ? namesOfResponse : namesOfRequest, this.handle, 0, 0, "list headers");
  }

  /** Replaces every value of `name` with `value`. */
  set(name: string, value: string): void {
    const key = utf8(name);
    const bytes = utf8(value);
    const k = changetype<usize>(key);
    const v = changetype<usize>(bytes);
    const status = this.response
      ? resp.header_insert(this.handle, k, key.byteLength, v, bytes.byteLength)
      : req.header_insert(this.handle, k, key.byteLength, v, bytes.byteLength);
    check(status, "set header " + name);
  }

  /** Adds a value to `name`, keeping the others. */
  append(name: string, value: string): void {
    const key = utf8(name);
    const bytes = utf8(value);
    const k = changetype<usize>(key);
    const v = changetype<usize>(bytes);
    const status = this.response
      ? resp.header_append(this.handle, k, key.byteLength, v, bytes.byteLength)
      : req.header_append(this.handle, k, key.byteLength, v, bytes.byteLength);
    check(status, "append header " + name);
  }

  /** Removes `name`; false when it was not there. */
  delete(name: string): bool {
    const key = utf8(name);
    const k = changetype<usize>(key);
    const status = this.response ? resp.header_remove(this.handle, k, key.byteLength) : req.header_remove(this.handle, k, key.byteLength);
    if (status == Status.INVAL) return false;
    check(status, "remove header " + name);
    return true;
  }
}
