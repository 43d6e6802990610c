// `fastly_log`: named log endpoints. Any name is accepted without
// configuration, except the names the platform reserves.
import { HostError, Status } from "../abi/status.ts";
import type { HostModule } from "./host-module.ts";

const RESERVED = /^(stdout|stderr|fst_managed_.*)$/i;
const decoder = new TextDecoder();

export const fastlyLog: HostModule = {
  endpoint_get(s, namePtr, nameLen, out) {
    const name = decoder.decode(s.mem.slice(namePtr, nameLen));
    if (RESERVED.test(name)) throw new HostError(Status.INVAL, `log endpoint name "${name}" is reserved`);
    s.mem.u32(out, s.logEndpoints.add(name));
    return Status.OK;
  },
  write(s, h, msgPtr, msgLen, nOut) {
    const endpoint = s.logEndpoints.get(h);
    const message = decoder.decode(s.mem.slice(msgPtr, msgLen));
    s.mem.u32(nOut, msgLen >>> 0);
    if (message.length > 0) s.link.log(s.rid, endpoint, message.replace(/\n$/, ""));
    return Status.OK;
  },
};
