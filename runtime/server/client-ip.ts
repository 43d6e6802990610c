// Local testing of code that depends on where clients are (geolocation,
// ACLs, rate limits): `outpost serve` lets a request name the client address
// the guest should see, in an `X-Outpost-Client-IP` header. The header is an
// instruction to the host, not part of the request: it is removed before the
// guest (or an origin the guest forwards headers to) sees the request, as
// the platform's guests never see how their client's address was learnt.
// Only a server started with `clientIpHeader` honours it; one that faces
// real clients must not, since any client could claim any address.
import { canonicalIp } from "../stores/geolocation.ts";

export const CLIENT_IP_HEADER = "x-outpost-client-ip";

export interface ClientIpOverride {
  /** The raw header list without the header. */
  rawHeaders: string[];
  /** The address the header named, or null when it named none (absent or not an IP address). */
  address: string | null;
}

/** Takes `X-Outpost-Client-IP` out of a flat [name, value, ...] list; the first valid address wins. */
export function takeClientIp(rawHeaders: string[]): ClientIpOverride {
  const kept: string[] = [];
  let address: string | null = null;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() !== CLIENT_IP_HEADER) {
      kept.push(rawHeaders[i], rawHeaders[i + 1]);
      continue;
    }
    address ??= canonicalIp(rawHeaders[i + 1].trim());
  }
  return { rawHeaders: kept.length === rawHeaders.length ? rawHeaders : kept, address };
}
