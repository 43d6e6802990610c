// `fastly_config_store`: read-only string maps from `[local_server.config_stores]`.
// `fastly_dictionary` (dictionary.ts) is its older name: the same calls on
// the same stores. A store opened in a request keeps the contents it had
// when the request started, even if its file is reloaded meanwhile.
import { HostError, Status } from "../abi/status.ts";
import type { Session } from "../session/session.ts";
import { utf8, writeValue } from "./abi-io.ts";
import type { HostModule } from "./host-module.ts";

export const configStoreCalls = {
  open(s: Session, namePtr: number, nameLen: number, handleOut: number): number {
    const name = s.mem.string(namePtr, nameLen);
    const stores = s.service.data.configStores;
    // An unknown store is `badf`, as in the reference emulator (ABI-SUMMARY §7).
    if (!Object.hasOwn(stores, name)) throw new HostError(Status.BADF, `no config store named ${name}`);
    s.mem.u32(handleOut, s.configStores.add(stores[name]));
    return Status.OK;
  },
  get(s: Session, h: number, keyPtr: number, keyLen: number, buf: number, max: number, nwrittenOut: number): number {
    const store = s.configStores.get(h);
    const key = s.mem.string(keyPtr, keyLen);
    if (!Object.hasOwn(store, key)) return Status.NONE;
    return writeValue(s.mem, buf, max, nwrittenOut, utf8(store[key]));
  },
} satisfies HostModule;

export const fastlyConfigStore: HostModule = configStoreCalls;
