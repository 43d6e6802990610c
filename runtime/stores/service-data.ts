// Store data a service's guests read without a round trip to the main
// thread: sent to every worker with the service, and replaced as a whole when
// it changes (runtime/server/guest-runtime.ts `updateService`), so that each
// request reads one consistent version. Stores that guests write (KV) and
// state shared across requests (rate limiting) stay on the main thread.
import type { AclsData } from "./acl.ts";
import type { DeviceDetectionData } from "./device-detection.ts";
import type { GeolocationData } from "./geolocation.ts";
import type { ShieldingSites } from "./shielding.ts";

export interface ServiceData {
  /** Config stores (and dictionaries, the same data): store name -> key -> value. */
  configStores: Record<string, Record<string, string>>;
  /** Secret stores: store name -> secret name -> plaintext. */
  secretStores: Record<string, Record<string, Uint8Array>>;
  /** `[local_server.geolocation]` (absent: the built-in loopback data only). */
  geolocation?: GeolocationData;
  /** `[local_server.device_detection]` (absent: no User-Agent is known). */
  deviceDetection?: DeviceDetectionData;
  /** `[local_server.acls]`: ACL name -> prefixes (absent: no ACLs). */
  acls?: AclsData;
  /** `[local_server.shielding_sites]`: shield name -> site (absent: no shields). */
  shieldingSites?: ShieldingSites;
  /** `[local_server] fake_valid_fastly_keys`: keys `fastly_key_is_valid` accepts (absent: none). */
  fakeValidFastlyKeys?: string[];
}

export const EMPTY_SERVICE_DATA: ServiceData = {
  configStores: {},
  secretStores: {},
};
