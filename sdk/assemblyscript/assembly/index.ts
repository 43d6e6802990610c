// Outpost's AssemblyScript SDK: write Fastly Compute apps in AssemblyScript.
//
//   import { Request, Response } from "../vendor/outpost";
//
//   export function _start(): void {
//     const request = Request.fromClient();
//     Response.fromText("Hello from " + request.path + "\n").send();
//   }
//
// Build with `asc assembly/index.ts -o bin/main.wasm --runtime stub -O3
// --noAssert --use abort=outpost_abort` (the template's asconfig.json holds
// these options). The raw host calls are in ./abi, one file per ABI module.
export { Body, StreamingBody } from "./body";
export { Client, formatAddress, geolocation } from "./client";
export { ConfigStore } from "./config-store";
export { console, Console, outpost_abort, panic } from "./console";
export { Headers } from "./headers";
export { InsertMode, InsertOptions, KVEntry, KVPage, KVStore, ListOptions } from "./kv-store";
export { Logger } from "./logger";
export { CacheOverride, decodeComponent, PendingRequest, Request, Selected } from "./request";
export { Response } from "./response";
export { FastlyError, KVError, Result, SendErrorDetail, Status } from "./status";
export { monotonicNanos, now } from "./time";
