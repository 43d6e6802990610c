// The ABI's `fastly_status` codes (witx `typenames.witx`, enum `$fastly_status`).
export const Status = {
  OK: 0,
  ERROR: 1,
  INVAL: 2,
  BADF: 3,
  BUFLEN: 4,
  UNSUPPORTED: 5,
  BADALIGN: 6,
  HTTPINVALID: 7,
  HTTPUSER: 8,
  HTTPINCOMPLETE: 9,
  NONE: 10,
  HTTPHEADTOOLARGE: 11,
  HTTPINVALIDSTATUS: 12,
  LIMITEXCEEDED: 13,
  AGAIN: 14,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

export const STATUS_NAMES = Object.fromEntries(
  Object.entries(Status).map(([name, code]) => [code, name.toLowerCase()]),
) as Record<Status, string>;

/**
 * A host call failed in a way the guest is told about through its status
 * code. Anything else thrown from a host call traps the guest.
 */
export class HostError extends Error {
  readonly status: Status;
  constructor(status: Status, message?: string) {
    super(message ?? STATUS_NAMES[status]);
    this.status = status;
  }
}

/** A failed backend send, with the `$send_error_detail_tag` the v2 calls report. */
export class SendError extends HostError {
  readonly detail: number;
  constructor(status: Status, message: string, detail: number) {
    super(status, message);
    this.detail = detail;
  }
}

/** Handle value every SDK treats as "no handle" (`u32::MAX - 1`). */
export const INVALID_HANDLE = 0xfffffffe;
/** `fastly_async_io::select` result for a timeout. */
export const SELECT_TIMEOUT = 0xffffffff;
