// Named logging endpoints.
import * as log from "./abi/log";
import { OUT, utf8 } from "./io";
import { check } from "./status";

/** A named logging endpoint (any name but `stdout`, `stderr` and `fst_managed_*`): each `log` call is one line in the server log, tagged with the endpoint. */
export class Logger {
  readonly name: string;
  private readonly handle: u32;

  constructor(name: string) {
    const bytes = utf8(name);
    check(log.endpoint_get(changetype<usize>(bytes), bytes.byteLength, OUT), "open log endpoint " + name);
    this.name = name;
    this.handle = load<u32>(OUT);
  }

  log(message: string): void {
    const bytes = utf8(message);
    check(log.write(this.handle, changetype<usize>(bytes), bytes.byteLength, OUT), "write to log endpoint " + this.name);
  }
}
