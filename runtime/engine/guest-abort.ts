// Exceptions that end a guest's run: thrown from a host call, they unwind
// through the guest's frames like a trap and are reported as the outcome.
import type { GuestOutcome } from "./protocol.ts";

/** The guest went over one of its limits. */
export class LimitExceeded extends Error {
  readonly limit: "cpu" | "wall" | "memory";
  constructor(limit: "cpu" | "wall" | "memory", message: string) {
    super(message);
    this.limit = limit;
  }
}

/** WASI `proc_exit`. */
export class ProcExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`guest exited with code ${code}`);
    this.code = code;
  }
}

export function outcomeOf(error: unknown): GuestOutcome {
  if (error instanceof ProcExit) return error.code === 0 ? { kind: "ok" } : { kind: "exit", code: error.code };
  if (error instanceof LimitExceeded) return { kind: "limit", limit: error.limit, message: error.message };
  if (error instanceof WebAssembly.RuntimeError || error instanceof Error) {
    return { kind: "trap", message: error.message };
  }
  return { kind: "trap", message: String(error) };
}
