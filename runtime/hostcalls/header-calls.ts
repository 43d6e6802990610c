// The header accessors shared by `fastly_http_req` and `fastly_http_resp`:
// the same seven calls over whichever header map the handle names.
import { HostError, Status } from "../abi/status.ts";
import type { Headers } from "../session/headers.ts";
import { checkHeaderName, checkHeaderValue } from "../session/headers.ts";
import type { Session } from "../session/session.ts";
import { latin1, writeMultiValue, writeValue } from "./abi-io.ts";
import type { HostModule } from "./host-module.ts";

/** What a field costs the host beyond its characters (map entry, string headers), so that many tiny ones count too. */
const FIELD_OVERHEAD_BYTES = 64;

/** Host memory a field name's values take. */
function fieldBytes(name: string, values: readonly string[]): number {
  return values.length === 0 ? 0 : values.reduce((total, value) => total + value.length + FIELD_OVERHEAD_BYTES, name.length);
}

export function headerCalls(headersOf: (s: Session, handle: number) => Headers): HostModule {
  const name = (s: Session, ptr: number, len: number) => checkHeaderName(s.mem.latin1(ptr, len));
  /** Charges the change in a field's size to the guest's memory limit, before making it. */
  const resize = (s: Session, headers: Headers, key: string, values: readonly string[]) =>
    s.chargeHostMemory(fieldBytes(key, values) - fieldBytes(key, headers.getAll(key)), "header fields");
  return {
    header_names_get(s, h, buf, bufLen, cursor, endingCursorOut, nwrittenOut) {
      const names = headersOf(s, h).names().map(latin1);
      return writeMultiValue(s.mem, names, buf, bufLen, cursor, endingCursorOut, nwrittenOut);
    },
    header_value_get(s, h, namePtr, nameLen, value, max, nwrittenOut) {
      const found = headersOf(s, h).get(name(s, namePtr, nameLen));
      if (found === undefined) return Status.INVAL;
      return writeValue(s.mem, value, max, nwrittenOut, latin1(found));
    },
    header_values_get(s, h, namePtr, nameLen, buf, bufLen, cursor, endingCursorOut, nwrittenOut) {
      const values = headersOf(s, h).getAll(name(s, namePtr, nameLen)).map(latin1);
      return writeMultiValue(s.mem, values, buf, bufLen, cursor, endingCursorOut, nwrittenOut);
    },
    header_values_set(s, h, namePtr, nameLen, valuesPtr, valuesLen) {
      const headers = headersOf(s, h);
      const key = name(s, namePtr, nameLen);
      // Values are each terminated by NUL; the empty segment after the last NUL is not a value.
      const values = s.mem.latin1(valuesPtr, valuesLen).split("\0");
      if (values.at(-1) === "") values.pop();
      const checked = values.map(checkHeaderValue);
      resize(s, headers, key, checked);
      headers.setAll(key, checked);
      return Status.OK;
    },
    header_insert(s, h, namePtr, nameLen, valuePtr, valueLen) {
      const headers = headersOf(s, h);
      const key = name(s, namePtr, nameLen);
      const value = checkHeaderValue(s.mem.latin1(valuePtr, valueLen));
      resize(s, headers, key, [value]);
      headers.set(key, value);
      return Status.OK;
    },
    header_append(s, h, namePtr, nameLen, valuePtr, valueLen) {
      const headers = headersOf(s, h);
      const key = name(s, namePtr, nameLen);
      const value = checkHeaderValue(s.mem.latin1(valuePtr, valueLen));
      s.chargeHostMemory(value.length + FIELD_OVERHEAD_BYTES + (headers.has(key) ? 0 : key.length), "header fields");
      headers.append(key, value);
      return Status.OK;
    },
    header_remove(s, h, namePtr, nameLen) {
      const headers = headersOf(s, h);
      const key = name(s, namePtr, nameLen);
      if (!headers.has(key)) throw new HostError(Status.INVAL, "header not present");
      resize(s, headers, key, []);
      headers.delete(key);
      return Status.OK;
    },
  };
}
