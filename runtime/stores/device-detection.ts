// Device detection data guests read with `fastly_device_detection::lookup`:
// the JSON object the platform reports for a User-Agent, by exact
// User-Agent. Built from `[local_server.device_detection]`
// (runtime/config/device-detection.ts) and read in place by the workers.

export interface DeviceDetectionData {
  /** User-Agent → the JSON object text a lookup answers. */
  userAgents: Map<string, string>;
}

export const EMPTY_DEVICE_DETECTION: DeviceDetectionData = { userAgents: new Map() };
