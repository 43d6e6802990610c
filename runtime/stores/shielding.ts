// Shield POPs as guests see them (`fastly_shielding::shield_info`), from
// `[local_server.shielding_sites]` (runtime/config/shielding-sites.ts).

export interface ShieldSite {
  /** This server is that shield ("local"). */
  runningOn: boolean;
  /** URL of the shield over plain HTTP, or "" for a local one. */
  unencrypted: string;
  /** URL of the shield over TLS, or "" for a local one. */
  encrypted: string;
}

/** Shield name -> site. */
export type ShieldingSites = Record<string, ShieldSite>;

/** `shield_info`'s answer: the running-on byte, then each URL followed by a NUL. */
export function encodeShieldInfo(site: ShieldSite): Uint8Array {
  const urls = new TextEncoder().encode(`${site.unencrypted}\0${site.encrypted}\0`);
  const out = new Uint8Array(1 + urls.byteLength);
  out[0] = site.runningOn ? 1 : 0;
  out.set(urls, 1);
  return out;
}
