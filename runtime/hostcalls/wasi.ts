// `wasi_snapshot_preview1`: the part of WASI a Compute guest may use.
// Standard output and error go to the log, tagged with the request; clocks,
// randomness, arguments and environment work; there is no file system (no
// preopened directories), as on the platform.
import { randomFillSync } from "node:crypto";
import { HostError, Status } from "../abi/status.ts";
import { CpuTracker, now } from "../engine/cpu-tracker.ts";
import { ProcExit } from "../engine/guest-abort.ts";
import type { Session } from "../session/session.ts";
import { type HostModule, suspending } from "./host-module.ts";

/** WASI errno values. */
export const Errno = {
  SUCCESS: 0,
  BADF: 8,
  FAULT: 21,
  INVAL: 28,
  IO: 29,
  NOSYS: 52,
  NOTSUP: 58,
  SPIPE: 70,
} as const;

const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_PROCESS_CPUTIME = 2;
const CLOCK_THREAD_CPUTIME = 3;
const FILETYPE_CHARACTER_DEVICE = 2;
const EVENTTYPE_CLOCK = 0;
const SUBCLOCKFLAGS_ABSTIME = 1;
const ALL_RIGHTS = 0x1fffffffn;

const ARGS = ["compute-app"];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Maps a host error inside a WASI call to an errno: bad pointers are EFAULT. */
export function wasiErrno(error: HostError): number {
  return error.status === Status.INVAL || error.status === Status.BADALIGN ? Errno.FAULT : Errno.IO;
}

const isStdio = (fd: number) => fd >= 0 && fd <= 2;

/** Lines written to stdout/stderr are logged whole; partial lines wait for their end. */
const pendingOutput = new WeakMap<Session, string[]>();
/** A partial line this long is logged as it is: the host does not hold more for a guest that never ends its lines. */
const MAX_PENDING_LINE = 64 * 1024;

export function flushOutput(s: Session): void {
  const pending = pendingOutput.get(s);
  if (!pending) return;
  for (const fd of [1, 2]) {
    if (pending[fd]) s.link.log(s.rid, fd === 1 ? "stdout" : "stderr", pending[fd]);
  }
  pendingOutput.delete(s);
}

function writeOutput(s: Session, fd: number, text: string): void {
  let pending = pendingOutput.get(s);
  if (!pending) pendingOutput.set(s, (pending = ["", "", ""]));
  const lines = (pending[fd] + text).split("\n");
  pending[fd] = lines.pop()!;
  if (pending[fd].length >= MAX_PENDING_LINE) {
    lines.push(pending[fd]);
    pending[fd] = "";
  }
  for (const line of lines) s.link.log(s.rid, fd === 1 ? "stdout" : "stderr", line);
}

/** (ptr, len) pairs of an iovec array. */
function iovecs(s: Session, iovs: number, count: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < count >>> 0; i++) out.push([s.mem.readU32(iovs + i * 8), s.mem.readU32(iovs + i * 8 + 4)]);
  return out;
}

function environment(s: Session): string[] {
  return Object.entries({ ...s.service.env, FASTLY_TRACE_ID: s.info.requestId }).map(([k, v]) => `${k}=${v}`);
}

/** Writes NUL-terminated strings and their pointers (argv / environ layout). */
function writeStrings(s: Session, strings: string[], pointers: number, buffer: number): number {
  let offset = buffer;
  strings.forEach((text, i) => {
    const bytes = encoder.encode(text + "\0");
    s.mem.u32(pointers + i * 4, offset);
    s.mem.write(offset, bytes);
    offset += bytes.byteLength;
  });
  return Errno.SUCCESS;
}

function writeSizes(s: Session, strings: string[], countOut: number, sizeOut: number): number {
  s.mem.u32(countOut, strings.length);
  s.mem.u32(sizeOut, strings.reduce((n, text) => n + encoder.encode(text).byteLength + 1, 0));
  return Errno.SUCCESS;
}

function clockNs(s: Session, id: number): bigint | null {
  switch (id) {
    case CLOCK_REALTIME:
      return BigInt(Math.round(now() * 1e6));
    case CLOCK_MONOTONIC:
      return process.hrtime.bigint();
    case CLOCK_PROCESS_CPUTIME:
    case CLOCK_THREAD_CPUTIME:
      return BigInt(Math.round(CpuTracker.used(s) * 1e6));
    default:
      return null;
  }
}

/** poll_oneoff: clock subscriptions sleep (suspending the guest); stdio is always ready. */
function pollOneoff(s: Session, inPtr: number, outPtr: number, count: number, neventsOut: number): number | Promise<number> {
  if (count === 0) return Errno.INVAL;
  let sleepNs: bigint | null = null;
  const immediate: { userdata: bigint; type: number }[] = [];
  let clockUserdata = 0n;
  for (let i = 0; i < count; i++) {
    const sub = inPtr + i * 48;
    const userdata = s.mem.readU64(sub);
    const tag = s.mem.slice(sub + 8, 1)[0];
    if (tag === EVENTTYPE_CLOCK) {
      const id = s.mem.readU32(sub + 16);
      let timeout = s.mem.readU64(sub + 24);
      const flags = s.mem.slice(sub + 40, 2)[0];
      if (flags & SUBCLOCKFLAGS_ABSTIME) {
        const current = clockNs(s, id) ?? 0n;
        timeout = timeout > current ? timeout - current : 0n;
      }
      if (sleepNs === null || timeout < sleepNs) {
        sleepNs = timeout;
        clockUserdata = userdata;
      }
    } else {
      immediate.push({ userdata, type: tag });
    }
  }
  const writeEvents = (events: { userdata: bigint; type: number }[]) => {
    events.forEach((event, i) => {
      const ev = outPtr + i * 32;
      s.mem.write(ev, new Uint8Array(32));
      s.mem.u64(ev, event.userdata);
      s.mem.slice(ev + 10, 1)[0] = event.type;
    });
    s.mem.u32(neventsOut, events.length);
    return Errno.SUCCESS;
  };
  if (immediate.length > 0 || sleepNs === null) return writeEvents(immediate);
  const ms = Number(sleepNs / 1_000_000n);
  return new Promise((resolve) => setTimeout(resolve, ms)).then(() =>
    writeEvents([{ userdata: clockUserdata, type: EVENTTYPE_CLOCK }]),
  );
}

const badf = () => Errno.BADF;
/** Calls on file descriptors: stdio is a character device that cannot seek; nothing else exists. */
const stdioOr = (stdio: number) => (_s: Session, fd: number) => (isStdio(fd) ? stdio : Errno.BADF);

export const wasiSnapshotPreview1: HostModule = {
  args_get: (s, argv, buf) => writeStrings(s, ARGS, argv, buf),
  args_sizes_get: (s, countOut, sizeOut) => writeSizes(s, ARGS, countOut, sizeOut),
  environ_get: (s, environ, buf) => writeStrings(s, environment(s), environ, buf),
  environ_sizes_get: (s, countOut, sizeOut) => writeSizes(s, environment(s), countOut, sizeOut),

  clock_res_get(s, id, out) {
    if (clockNs(s, id) === null) return Errno.INVAL;
    s.mem.u64(out, 1000n);
    return Errno.SUCCESS;
  },
  clock_time_get(s, id, _precision, out) {
    const ns = clockNs(s, id);
    if (ns === null) return Errno.INVAL;
    s.mem.u64(out, ns);
    return Errno.SUCCESS;
  },

  random_get(s, buf, len) {
    randomFillSync(s.mem.slice(buf, len));
    return Errno.SUCCESS;
  },

  fd_write(s, fd, iovs, count, nOut) {
    if (fd !== 1 && fd !== 2) return Errno.BADF;
    let total = 0;
    let text = "";
    for (const [ptr, len] of iovecs(s, iovs, count)) {
      text += decoder.decode(s.mem.slice(ptr, len), { stream: true });
      total += len;
    }
    s.mem.u32(nOut, total);
    writeOutput(s, fd, text);
    return Errno.SUCCESS;
  },
  fd_read(s, fd, _iovs, _count, nOut) {
    if (fd !== 0) return Errno.BADF;
    s.mem.u32(nOut, 0); // stdin is empty
    return Errno.SUCCESS;
  },
  fd_pread: badf,
  fd_pwrite: badf,
  fd_close: stdioOr(Errno.SUCCESS),
  fd_fdstat_get(s, fd, out) {
    if (!isStdio(fd)) return Errno.BADF;
    s.mem.write(out, new Uint8Array(24));
    s.mem.slice(out, 1)[0] = FILETYPE_CHARACTER_DEVICE;
    s.mem.u64(out + 8, ALL_RIGHTS);
    s.mem.u64(out + 16, ALL_RIGHTS);
    return Errno.SUCCESS;
  },
  fd_fdstat_set_flags: stdioOr(Errno.SUCCESS),
  fd_fdstat_set_rights: stdioOr(Errno.SUCCESS),
  fd_filestat_get(s, fd, out) {
    if (!isStdio(fd)) return Errno.BADF;
    s.mem.write(out, new Uint8Array(64));
    s.mem.slice(out + 16, 1)[0] = FILETYPE_CHARACTER_DEVICE;
    return Errno.SUCCESS;
  },
  fd_filestat_set_size: stdioOr(Errno.INVAL),
  fd_filestat_set_times: stdioOr(Errno.INVAL),
  fd_seek: stdioOr(Errno.SPIPE),
  fd_tell: stdioOr(Errno.SPIPE),
  fd_advise: stdioOr(Errno.SPIPE),
  fd_allocate: stdioOr(Errno.INVAL),
  fd_datasync: stdioOr(Errno.INVAL),
  fd_sync: stdioOr(Errno.INVAL),
  fd_renumber: badf,
  fd_readdir: badf,
  // No preopened directories: wasi-libc stops scanning at the first EBADF.
  fd_prestat_get: badf,
  fd_prestat_dir_name: badf,
  path_create_directory: badf,
  path_filestat_get: badf,
  path_filestat_set_times: badf,
  path_link: badf,
  path_open: badf,
  path_readlink: badf,
  path_remove_directory: badf,
  path_rename: badf,
  path_symlink: badf,
  path_unlink_file: badf,

  poll_oneoff: suspending(pollOneoff),
  proc_exit(s, code) {
    flushOutput(s);
    throw new ProcExit(code >>> 0);
  },
  proc_raise: () => Errno.NOSYS,
  sched_yield: () => Errno.SUCCESS,
  sock_accept: badf,
  sock_recv: badf,
  sock_send: badf,
  sock_shutdown: badf,
};
