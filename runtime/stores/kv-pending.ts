// The guest's side of a KV operation in flight (`fastly_kv_store::lookup`,
// `insert`, `delete`, `list` and the deprecated `fastly_object_store` async
// calls): a handle in the session's async-item table, so that
// `fastly_async_io::select` and `is_ready` work on it, settled when the main
// thread answers. These are the shapes that cross to the "kv" host service.
import { HostError, Status } from "../abi/status.ts";
import type { RemoteBodyInfo } from "../engine/protocol.ts";
import type { KvError } from "./kv-limits.ts";

/** A lookup's answer: the value inline (small) or as a main-thread body (large). */
export interface KvLookupResult {
  kvError: KvError;
  value: Uint8Array | RemoteBodyInfo | null;
  metadata: Uint8Array | null;
  generation: number;
}

export interface KvListResult {
  kvError: KvError;
  body: Uint8Array | null;
}

/** A decoded `$kv_insert_config`, as sent to the main thread. */
export interface KvInsertRequest {
  mode: number;
  metadata: Uint8Array | null;
  ttlSec: number | null;
  ifGenerationMatch: bigint | null;
}

export interface KvListRequest {
  cursor: string | null;
  limit: number | null;
  prefix: string | null;
  /** `$kv_list_mode` eventual: the same as strong here (one local copy of the data). */
  eventual: boolean;
}

export type KvPendingKind = "lookup" | "insert" | "delete" | "list";

type ResultOf<K extends KvPendingKind> = K extends "lookup" ? KvLookupResult : K extends "list" ? KvListResult : KvError;

export class KvPending<K extends KvPendingKind = KvPendingKind> {
  readonly kind: K;
  readonly promise: Promise<void>;
  result: ResultOf<K> | null = null;
  error: HostError | null = null;

  constructor(kind: K, work: Promise<ResultOf<K>> | ResultOf<K>) {
    this.kind = kind;
    this.promise = Promise.resolve(work).then(
      (result) => {
        this.result = result;
      },
      (error: unknown) => {
        this.error = error instanceof HostError ? error : new HostError(Status.ERROR, String(error));
      },
    );
  }

  get done(): boolean {
    return this.result !== null || this.error !== null;
  }

  /** The answer once settled: throws the error the main thread reported. */
  outcome(): ResultOf<K> {
    if (this.error) throw this.error;
    return this.result!;
  }
}
