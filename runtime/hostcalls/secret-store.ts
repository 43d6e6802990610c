// `fastly_secret_store`: secrets from `[local_server.secret_stores]`, and
// secrets the guest makes from its own bytes (`from_bytes`, for APIs that
// take a secret handle). Unknown stores and secrets are `none`.
import { HostError, Status } from "../abi/status.ts";
import type { Session } from "../session/session.ts";
import { writeValue } from "./abi-io.ts";
import type { HostModule } from "./host-module.ts";

export const fastlySecretStore: HostModule = {
  open(s: Session, namePtr: number, nameLen: number, handleOut: number) {
    const name = s.mem.string(namePtr, nameLen);
    const stores = s.service.data.secretStores;
    if (!Object.hasOwn(stores, name)) throw new HostError(Status.NONE, `no secret store named ${name}`);
    s.mem.u32(handleOut, s.secretStores.add(stores[name]));
    return Status.OK;
  },
  get(s: Session, store: number, keyPtr: number, keyLen: number, secretOut: number) {
    const secrets = s.secretStores.get(store);
    const key = s.mem.string(keyPtr, keyLen);
    if (!Object.hasOwn(secrets, key)) throw new HostError(Status.NONE, `no secret named ${key}`);
    s.mem.u32(secretOut, s.secrets.add(secrets[key]));
    return Status.OK;
  },
  plaintext(s: Session, secret: number, buf: number, max: number, nwrittenOut: number) {
    return writeValue(s.mem, buf, max, nwrittenOut, s.secrets.get(secret));
  },
  from_bytes(s: Session, buf: number, len: number, secretOut: number) {
    s.mem.u32(secretOut, s.secrets.add(s.mem.copy(buf, len)));
    return Status.OK;
  },
};
