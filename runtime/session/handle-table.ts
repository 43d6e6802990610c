// A table of guest-visible handles. Handles are never reused within a
// session, so a stale handle is always `badf` and never aliases a new object.
import { HostError, INVALID_HANDLE, Status } from "../abi/status.ts";

export class HandleTable<T> {
  private readonly items = new Map<number, T>();
  private next = 0;
  private readonly kind: string;
  private readonly limit: number;

  constructor(kind: string, limit = 65536) {
    this.kind = kind;
    this.limit = limit;
  }

  add(item: T): number {
    if (this.items.size >= this.limit || this.next >= INVALID_HANDLE) {
      throw new HostError(Status.LIMITEXCEEDED, `too many open ${this.kind} handles`);
    }
    const handle = this.next++;
    this.items.set(handle, item);
    return handle;
  }

  get(handle: number): T {
    const item = this.items.get(handle >>> 0);
    if (item === undefined) throw new HostError(Status.BADF, `unknown ${this.kind} handle ${handle >>> 0}`);
    return item;
  }

  find(handle: number): T | undefined {
    return this.items.get(handle >>> 0);
  }

  /** Removes and returns the item: the handle is consumed. */
  take(handle: number): T {
    const item = this.get(handle);
    this.items.delete(handle >>> 0);
    return item;
  }

  /** Points an existing handle at a different item (a body that turned into a stream). */
  replace(handle: number, item: T): void {
    this.get(handle);
    this.items.set(handle >>> 0, item);
  }

  values(): IterableIterator<T> {
    return this.items.values();
  }

  get size(): number {
    return this.items.size;
  }
}
