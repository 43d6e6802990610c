// `fastly_shielding`: which shield POPs exist and whether this server is one
// (`shield_info`, from `[local_server.shielding_sites]`), and a backend that
// sends to a shield (`backend_for_shield`). SDKs read a shield's two URLs with
// the first call, then pass one of them to the second, which registers a
// dynamic backend for it (runtime/hostcalls/dynamic-backend.ts) and answers
// its name.
import { HostError, Status } from "../abi/status.ts";
import { type DynamicBackendSpec, plainBackendSpec } from "../backends/dynamic-spec.ts";
import type { BackendSummary } from "../engine/protocol.ts";
import type { Session } from "../session/session.ts";
import { encodeShieldInfo } from "../stores/shielding.ts";
import { writeValue, utf8 } from "./abi-io.ts";
import { type HostModule, suspending } from "./host-module.ts";

/** `$shield_backend_options` flags. */
const ShieldBackendOptions = {
  RESERVED: 1 << 0,
  USE_CACHE_KEY: 1 << 1,
  FIRST_BYTE_TIMEOUT: 1 << 2,
  BETWEEN_BYTES_TIMEOUT: 1 << 3,
} as const;
const KNOWN_OPTIONS = (1 << 4) - 1;
/** `shield_backend_config`: cache_key (ptr, len), first_byte_timeout_ms, between_bytes_timeout_ms. */
const CONFIG_SIZE = 16;

const invalid = (message: string) => new HostError(Status.INVAL, message);

/** The dynamic backend a shield's URL becomes: its name, and what to register. */
function shieldBackend(s: Session, target: string, mask: number, configPtr: number): DynamicBackendSpec {
  mask >>>= 0;
  if (mask & ShieldBackendOptions.RESERVED) throw invalid("the reserved shield backend option is set");
  if (mask & ~KNOWN_OPTIONS) throw invalid(`unknown shield backend options 0x${(mask & ~KNOWN_OPTIONS).toString(16)}`);
  s.mem.slice(configPtr, CONFIG_SIZE);
  // The cache key shards the shield's cache on the platform; here it is checked and has no other effect.
  if (mask & ShieldBackendOptions.USE_CACHE_KEY) s.mem.string(s.mem.readU32(configPtr), s.mem.readU32(configPtr + 4));
  const timeout = (bit: number, offset: number, field: string) => {
    if (!(mask & bit)) return null;
    const ms = s.mem.readU32(configPtr + offset);
    if (ms === 0) throw invalid(`${field} must be above 0 ms`);
    return ms;
  };
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw invalid(`${JSON.stringify(target)} is not a shield's URL`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) throw invalid(`${JSON.stringify(target)} is not a shield's URL`);
  return {
    ...plainBackendSpec(`shield:${url.origin}`, url.host, url.protocol === "https:"),
    firstByteTimeoutMs: timeout(ShieldBackendOptions.FIRST_BYTE_TIMEOUT, 8, "first_byte_timeout_ms"),
    betweenBytesTimeoutMs: timeout(ShieldBackendOptions.BETWEEN_BYTES_TIMEOUT, 12, "between_bytes_timeout_ms"),
  };
}

export const fastlyShielding: HostModule = {
  shield_info(s, namePtr, nameLen, buf, max, nOut) {
    const name = s.mem.string(namePtr, nameLen);
    const site = s.service.data.shieldingSites?.[name];
    if (!site) throw invalid(`no shield named ${JSON.stringify(name)} in [local_server.shielding_sites]`);
    return writeValue(s.mem, buf, max, nOut, encodeShieldInfo(site));
  },

  backend_for_shield: suspending((s: Session, targetPtr: number, targetLen: number, mask: number, configPtr: number, buf: number, max: number, nOut: number) => {
    const spec = shieldBackend(s, s.mem.string(targetPtr, targetLen), mask, configPtr);
    const name = utf8(spec.name);
    if (name.byteLength > max >>> 0) {
      s.mem.u32(nOut, name.byteLength);
      return Status.BUFLEN;
    }
    // Asked again in the same request with the same options, the main thread hands back the same backend.
    return s.link.invoke(s.rid, "dynamicBackends", "register", [spec]).then((summary) => {
      s.dynamicBackends.set(spec.name, summary as BackendSummary);
      return writeValue(s.mem, buf, max, nOut, name);
    });
  }),
};
