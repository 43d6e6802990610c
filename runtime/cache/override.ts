// The guest's cache override (`cache_override_v2_set` flags and values) as the cache policy reads it.
import { CacheOverrideTag } from "../abi/constants.ts";
import type { CacheOverride as WireOverride } from "../engine/protocol.ts";
import { type CacheOverride, NO_OVERRIDE } from "./policy.ts";

export function cacheOverride(wire: WireOverride | null): CacheOverride {
  if (!wire) return NO_OVERRIDE;
  return {
    pass: (wire.tag & CacheOverrideTag.PASS) !== 0,
    ttl: wire.tag & CacheOverrideTag.TTL ? wire.ttl : null,
    staleWhileRevalidate: wire.tag & CacheOverrideTag.STALE_WHILE_REVALIDATE ? wire.staleWhileRevalidate : null,
    pci: (wire.tag & CacheOverrideTag.PCI) !== 0,
    surrogateKey: wire.surrogateKey,
  };
}
