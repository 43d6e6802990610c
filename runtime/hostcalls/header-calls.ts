// The header accessors shared by `fastly_http_req` and `fastly_http_resp`:
// the same seven calls over whichever header map the handle names.
import { HostError, Status } from "../abi/status.ts";
import type { Headers } from "../session/headers.ts";
import { checkHeaderName, checkHeaderValue } from "../session/headers.ts";
import type { Session } from "../session/session.ts";
import { latin1, writeMultiValue, writeValue } from "./abi-io.ts";
import type { HostModule } from "./host-module.ts";

export function headerCalls(headersOf: (s: Session, handle: number) => Headers): HostModule {
  const name = (s: Session, ptr: number, len: number) => checkHeaderName(s.mem.latin1(ptr, len));
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
      headers.setAll(key, values.map(checkHeaderValue));
      return Status.OK;
    },
    header_insert(s, h, namePtr, nameLen, valuePtr, valueLen) {
      const headers = headersOf(s, h);
      headers.set(name(s, namePtr, nameLen), checkHeaderValue(s.mem.latin1(valuePtr, valueLen)));
      return Status.OK;
    },
    header_append(s, h, namePtr, nameLen, valuePtr, valueLen) {
      const headers = headersOf(s, h);
      headers.append(name(s, namePtr, nameLen), checkHeaderValue(s.mem.latin1(valuePtr, valueLen)));
      return Status.OK;
    },
    header_remove(s, h, namePtr, nameLen) {
      if (!headersOf(s, h).delete(name(s, namePtr, nameLen))) {
        throw new HostError(Status.INVAL, "header not present");
      }
      return Status.OK;
    },
  };
}
