// Every implemented host module, by import module name. Functions of the ABI
// that no module here implements are linked to a stub answering
// `unsupported` (see runtime/engine/linker.ts and docs/abi-support.md).
import { fastlyAbi } from "./fastly-abi.ts";
import { fastlyAsyncIo } from "./async-io.ts";
import { fastlyBackend } from "./backend.ts";
import { fastlyComputeRuntime } from "./compute-runtime.ts";
import type { HostModule } from "./host-module.ts";
import { fastlyHttpBody } from "./http-body.ts";
import { fastlyHttpDownstream } from "./http-downstream.ts";
import { fastlyHttpReq } from "./http-req.ts";
import { fastlyHttpResp } from "./http-resp.ts";
import { fastlyLog } from "./log.ts";
import { fastlyPurge } from "./purge.ts";
import { wasiSnapshotPreview1 } from "./wasi.ts";

export const WASI_MODULE = "wasi_snapshot_preview1";

export const HOST_MODULES: Record<string, HostModule> = {
  fastly_abi: fastlyAbi,
  fastly_async_io: fastlyAsyncIo,
  fastly_backend: fastlyBackend,
  fastly_compute_runtime: fastlyComputeRuntime,
  fastly_http_body: fastlyHttpBody,
  fastly_http_downstream: fastlyHttpDownstream,
  fastly_http_req: fastlyHttpReq,
  fastly_http_resp: fastlyHttpResp,
  fastly_log: fastlyLog,
  fastly_purge: fastlyPurge,
  [WASI_MODULE]: wasiSnapshotPreview1,
};
