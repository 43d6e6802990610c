// Standard output and error, the SDK's `panic`, and the abort handler.
//
// AssemblyScript's own `console` needs a JavaScript host; import this one
// instead (`import { console } from ".../outpost"`): each call writes one
// line to the server's log, tagged with the request.

@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovs_len: u32, nwritten: usize): u32;

const IOV: usize = memory.data(16, 4);

/** Writes `text` and a newline to a file descriptor (1 = standard output, 2 = standard error). */
export function writeLine(fd: u32, text: string): void {
  const bytes = String.UTF8.encode(text + "\n");
  let ptr = changetype<usize>(bytes);
  let left = <u32>bytes.byteLength;
  while (left > 0) {
    store<u32>(IOV, <u32>ptr);
    store<u32>(IOV, left, 4);
    if (fd_write(fd, IOV, 1, IOV + 8) != 0) return;
    const written = load<u32>(IOV, 8);
    if (written == 0) return;
    ptr += written;
    left -= written;
  }
}

/** Stops the request: writes `message` to standard error and traps (the host answers 500). */
export function panic(message: string): void {
  writeLine(2, message);
  unreachable();
}

/**
 * The handler for `abort` (`throw`, failed assertions, out-of-range access,
 * unexpected nulls): build with `--use abort=outpost_abort` so that the
 * message reaches the log. (`throw` passes its message only when it is
 * written `throw new Error("...")`.)
 */
// @ts-ignore: decorator
@global export function outpost_abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = "abort: " + (message === null ? "(no message)" : message);
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  panic(text);
}

export class Console {
  /** A line on standard output. */
  log(message: string): void {
    writeLine(1, message);
  }

  info(message: string): void {
    writeLine(1, message);
  }

  debug(message: string): void {
    writeLine(1, message);
  }

  /** A line on standard error. */
  warn(message: string): void {
    writeLine(2, message);
  }

  error(message: string): void {
    writeLine(2, message);
  }
}

export const console = new Console();
