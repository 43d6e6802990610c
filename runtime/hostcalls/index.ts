// Every implemented host module, by import module name. Functions of the ABI
// that no module here implements are linked to a stub answering
// `unsupported` (see runtime/engine/linker.ts and docs/abi-support.md).
import { fastlyAbi } from "./fastly-abi.ts";
import { fastlyAcl } from "./acl.ts";
import { fastlyAsyncIo } from "./async-io.ts";
import { fastlyBackend } from "./backend.ts";
import { fastlyCache } from "./cache.ts";
import { fastlyComputeRuntime } from "./compute-runtime.ts";
import { fastlyConfigStore } from "./config-store.ts";
import { fastlyDeviceDetection } from "./device-detection.ts";
import { fastlyDictionary } from "./dictionary.ts";
import { fastlyErl } from "./erl.ts";
import { fastlyGeo } from "./geo.ts";
import type { HostModule } from "./host-module.ts";
import { fastlyHttpBody } from "./http-body.ts";
import { fastlyHttpCache } from "./http-cache.ts";
import { fastlyHttpDownstream } from "./http-downstream.ts";
import { fastlyHttpReq } from "./http-req.ts";
import { fastlyHttpResp } from "./http-resp.ts";
import { fastlyKvStore } from "./kv-store.ts";
import { fastlyLog } from "./log.ts";
import { fastlyObjectStore } from "./object-store.ts";
import { fastlyPurge } from "./purge.ts";
import { fastlySecretStore } from "./secret-store.ts";
import { fastlyShielding } from "./shielding.ts";
import { wasiSnapshotPreview1 } from "./wasi.ts";

export const WASI_MODULE = "wasi_snapshot_preview1";

export const HOST_MODULES: Record<string, HostModule> = {
  fastly_abi: fastlyAbi,
  fastly_acl: fastlyAcl,
  fastly_async_io: fastlyAsyncIo,
  fastly_backend: fastlyBackend,
  fastly_cache: fastlyCache,
  fastly_compute_runtime: fastlyComputeRuntime,
  fastly_config_store: fastlyConfigStore,
  fastly_device_detection: fastlyDeviceDetection,
  fastly_dictionary: fastlyDictionary,
  fastly_erl: fastlyErl,
  fastly_geo: fastlyGeo,
  fastly_http_body: fastlyHttpBody,
  fastly_http_cache: fastlyHttpCache,
  fastly_http_downstream: fastlyHttpDownstream,
  fastly_http_req: fastlyHttpReq,
  fastly_http_resp: fastlyHttpResp,
  fastly_kv_store: fastlyKvStore,
  fastly_log: fastlyLog,
  fastly_object_store: fastlyObjectStore,
  fastly_purge: fastlyPurge,
  fastly_secret_store: fastlySecretStore,
  fastly_shielding: fastlyShielding,
  [WASI_MODULE]: wasiSnapshotPreview1,
};
