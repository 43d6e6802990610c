// `fastly_geo`: where an IP address is, as `[local_server.geolocation]`
// says (runtime/stores/geolocation.ts). The answer is a JSON object's text;
// an address the table does not know has none.
import { HostError, Status } from "../abi/status.ts";
import { DEFAULT_GEOLOCATION, lookupGeolocation } from "../stores/geolocation.ts";
import { utf8, writeValue } from "./abi-io.ts";
import type { HostModule } from "./host-module.ts";

export const fastlyGeo: HostModule = {
  lookup(s, addrPtr, addrLen, buf, max, nOut) {
    if (addrLen !== 4 && addrLen !== 16) throw new HostError(Status.INVAL, `an IP address has 4 or 16 octets, not ${addrLen >>> 0}`);
    const json = lookupGeolocation(s.service.data.geolocation ?? DEFAULT_GEOLOCATION, s.mem.slice(addrPtr, addrLen));
    // The platform answers `none` for an unknown address (the reference emulator, an empty string).
    if (json === null) return Status.NONE;
    return writeValue(s.mem, buf, max, nOut, utf8(json));
  },
};
