// The main-thread services this server offers to host calls (see
// host-services.ts): one entry per service, built from the server's parts.
import type { Readthrough } from "../cache/readthrough.ts";
import type { HostServices } from "./host-services.ts";

export interface ServiceParts {
  cache: Readthrough;
}

export function hostServices(parts: ServiceParts): HostServices {
  return {
    purge: {
      /** `fastly_purge::purge_surrogate_key`: the number of objects purged. */
      surrogateKey: (_context, key: string, soft: boolean) => parts.cache.purgeSurrogateKeys([key], soft),
    },
  };
}
