// `[local_server.device_detection]`: what `fastly_device_detection::lookup`
// answers for which User-Agent (an exact match), read as the reference
// emulator reads it.
//
//   [local_server.device_detection]
//   format = "inline-toml"          # or format = "json", file = "devices.json"
//   [local_server.device_detection.user_agents."Mozilla/5.0 (iPhone; ...)"]
//   device = { name = "iPhone", hwtype = "Mobile Phone", is_mobile = true }
import { type DeviceDetectionData, EMPTY_DEVICE_DETECTION } from "../stores/device-detection.ts";
import { expectTable } from "./config-error.ts";
import { readLookupTable } from "./lookup-table.ts";
import type { Manifest } from "./manifest.ts";

export function parseDeviceDetection(manifest: Manifest, warn: (message: string) => void): DeviceDetectionData {
  const value = manifest.localServer.device_detection;
  const file = manifest.path ?? "fastly.toml";
  const dir = manifest.dir;
  if (value === undefined) return EMPTY_DEVICE_DETECTION;
  const section = expectTable(value, `${file}: [local_server.device_detection]`);
  const userAgents = readLookupTable(section, {
    where: `${file}: local_server.device_detection`,
    inlineKey: "user_agents",
    otherKeys: [],
    nested: true,
    dir,
    warn,
  });
  return { userAgents };
}
