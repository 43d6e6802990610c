// Where the server's lines go: one line per request, the guests' own log
// lines tagged with their request, and the server's notices.

export interface RequestLogEntry {
  rid: number;
  method: string;
  path: string;
  status: number;
  ms: number;
  /** CPU time the guest used, when it finished before the response did. */
  cpuMs?: number | null;
  /** Why the guest did not finish normally, if it did not. */
  note?: string;
}

export interface Logger {
  request(entry: RequestLogEntry): void;
  /** A line a guest logged to a named endpoint or to stdout/stderr. */
  guest(rid: number, endpoint: string, message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function formatRequest(entry: RequestLogEntry): string {
  const note = entry.note ? ` (${entry.note})` : "";
  const cpu = entry.cpuMs != null ? ` cpu=${entry.cpuMs.toFixed(1)}ms` : "";
  return `${entry.method} ${entry.path} ${entry.status} ${entry.ms.toFixed(1)}ms${cpu} #${entry.rid}${note}`;
}

export function formatGuestLine(rid: number, endpoint: string, message: string): string {
  // One physical line per entry: inner newlines are escaped.
  return `#${rid} ${endpoint} :: ${message.replace(/\n/g, "\\n")}`;
}

/** Writes to the process's stdout (requests, guest lines) and stderr (notices). */
export function consoleLogger(options: { quiet?: boolean } = {}): Logger {
  return {
    request: (entry) => {
      if (!options.quiet) process.stdout.write(formatRequest(entry) + "\n");
    },
    guest: (rid, endpoint, message) => process.stdout.write(formatGuestLine(rid, endpoint, message) + "\n"),
    info: (message) => process.stderr.write(message + "\n"),
    warn: (message) => process.stderr.write(`warning: ${message}\n`),
    error: (message) => process.stderr.write(`error: ${message}\n`),
  };
}

/** Keeps every line in memory: for tests and embedding. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  readonly requests: RequestLogEntry[] = [];
  request(entry: RequestLogEntry): void {
    this.requests.push(entry);
    this.lines.push(formatRequest(entry));
  }
  guest(rid: number, endpoint: string, message: string): void {
    this.lines.push(formatGuestLine(rid, endpoint, message));
  }
  info(message: string): void {
    this.lines.push(message);
  }
  warn(message: string): void {
    this.lines.push(`warning: ${message}`);
  }
  error(message: string): void {
    this.lines.push(`error: ${message}`);
  }
}
