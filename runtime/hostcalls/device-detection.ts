// `fastly_device_detection`: what device a User-Agent names, as
// `[local_server.device_detection]` says (an exact match). The answer is a
// JSON object's text; an unknown User-Agent has none.
import { Status } from "../abi/status.ts";
import { utf8, writeValue } from "./abi-io.ts";
import type { HostModule } from "./host-module.ts";

export const fastlyDeviceDetection: HostModule = {
  lookup(s, uaPtr, uaLen, buf, max, nOut) {
    const userAgent = s.mem.string(uaPtr, uaLen);
    const json = s.service.data.deviceDetection?.userAgents.get(userAgent);
    if (json === undefined) return Status.NONE;
    return writeValue(s.mem, buf, max, nOut, utf8(json));
  },
};
