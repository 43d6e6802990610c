// `fastly_purge`: purging the cache by surrogate key from inside a guest.
import { HostError, Status } from "../abi/status.ts";
import type { Session } from "../session/session.ts";
import { type HostModule, suspending } from "./host-module.ts";

const SOFT_PURGE = 1 << 0;
const RET_BUF = 1 << 1;

export const fastlyPurge: HostModule = {
  purge_surrogate_key: suspending((s: Session, keyPtr: number, keyLen: number, mask: number, _options: number) => {
    const key = s.mem.string(keyPtr, keyLen);
    if (mask & ~(SOFT_PURGE | RET_BUF)) throw new HostError(Status.INVAL, "unknown purge options");
    // The purge id the platform can return has no local meaning.
    if (mask & RET_BUF) throw new HostError(Status.UNSUPPORTED, "purge ids (ret_buf) are not provided");
    if (!key) throw new HostError(Status.INVAL, "empty surrogate key");
    return s.link.invoke(s.rid, "purge", "surrogateKey", [key, (mask & SOFT_PURGE) !== 0]).then(() => Status.OK);
  }),
};
