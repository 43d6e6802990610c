// Messages between the main thread (which owns every socket: clients,
// origins, the cache) and the guest workers (which run Wasm only).
//
// Bodies that live on the main thread (a client's request body, an origin's
// response body) are named by a numeric id; the worker reads them on demand
// and can hand them back unread, so a proxied body never crosses threads.
import type { KeepaliveSpec } from "../backends/dynamic-spec.ts";
import type { ServiceData } from "../stores/service-data.ts";
import type { MemoryPlan } from "./memory-image.ts";

/** A request or response head as it crosses threads. Header lists are flat [name, value, ...]. */
export interface RequestHead {
  method: string;
  uri: string;
  /** `$http_version` enum value. */
  version: number;
  headers: string[];
}

export interface ResponseHead {
  status: number;
  version: number;
  headers: string[];
}

/** A body to send: local chunks and, by id, main-side bodies, in order. */
export type BodyPart = Uint8Array | number;

export interface BodySpec {
  parts: BodyPart[];
  /** Worker-allocated id of a stream the guest keeps writing after the send, or 0. */
  stream: number;
}

/** What the main thread knows about the client connection. */
export interface DownstreamInfo {
  requestId: string;
  clientAddress: string;
  serverAddress: string;
  serverPort: number;
  /** Header names exactly as the client sent them, in order. */
  originalHeaderNames: string[];
  tls: boolean;
  /** What the TLS handshake established (`serve --tls-cert`), or absent on plain HTTP. */
  tlsFacts?: DownstreamTls;
  /** Bot detection as the client's `X-Fastly-Bot-*` fields describe it (local testing; runtime/server/bot-headers.ts). */
  bot?: BotFacts;
}

/** What `downstream_bot_*` answer. */
export interface BotFacts {
  analyzed: boolean;
  detected: boolean;
  verified: boolean;
  name: string | null;
  category: string | null;
  /** `$bot_category_kind` value, or null when no category was given or it is not one. */
  categoryKind: number | null;
}

/** The client connection's TLS handshake, for `downstream_tls_*` (runtime/net/tls-front.ts). */
export interface DownstreamTls {
  /** "TLSv1.3", ... */
  protocol: string;
  /** The cipher's OpenSSL name. */
  cipher: string;
  /** The SNI host name the client sent, or null. */
  serverName: string | null;
  /** The ClientHello handshake message, its JA3 digest (16 bytes) and JA4; null when it could not be read. */
  clientHello: Uint8Array | null;
  ja3Md5: Uint8Array | null;
  ja4: string | null;
  /** The client's certificate (PEM), when it sent one. */
  clientCertificate: string | null;
  /** `$client_cert_verify_result` value. */
  clientCertVerify: number;
}

export interface RemoteBodyInfo {
  id: number;
  /** Remaining length when the sender declared it (Content-Length), else -1. */
  length: number;
}

export interface GuestLimits {
  /** Linear-memory cap per instance, in bytes. */
  memoryBytes: number;
  /** CPU time a guest may run, in milliseconds. */
  cpuMs: number;
  /** Wall-clock time a request may take, in milliseconds. */
  wallMs: number;
}

export interface ServiceInfo {
  /** Environment variables the guest sees (FASTLY_HOSTNAME, ...). */
  env: Record<string, string>;
  /** Store data guests read in place (config stores, ...). */
  data: ServiceData;
  /** Names of the backends the service may send to. */
  backends: BackendSummary[];
  limits: GuestLimits;
}

/** What the guest may ask about a backend (`fastly_backend::*`). */
export interface BackendSummary {
  name: string;
  host: string;
  port: number;
  ssl: boolean;
  overrideHost: string | null;
  connectTimeoutMs: number;
  firstByteTimeoutMs: number;
  betweenBytesTimeoutMs: number;
  /** `$backend_health` enum value. */
  health: number;
  sslMinVersion: number | null;
  sslMaxVersion: number | null;
  /** Registered by a guest at run time (`register_dynamic_backend`). */
  dynamic?: boolean;
  /** Keepalive settings a dynamic backend asked for (`fastly_backend::get_*keepalive*`). */
  keepalive?: KeepaliveSpec | null;
}

export type GuestOutcome =
  | { kind: "ok" }
  | { kind: "exit"; code: number }
  | { kind: "trap"; message: string }
  | { kind: "limit"; limit: "cpu" | "wall" | "memory"; message: string };

// ---- main -> worker ----

export type MainToWorker =
  | { t: "load"; moduleId: string; module: WebAssembly.Module; service: ServiceInfo; memory: MemoryPlan | null }
  | { t: "unload"; moduleId: string }
  /** New service data (a changed config store, say): requests started from now on see it. */
  | { t: "service"; moduleId: string; service: ServiceInfo }
  | {
      t: "run";
      rid: number;
      moduleId: string;
      head: RequestHead;
      body: RemoteBodyInfo | null;
      info: DownstreamInfo;
    }
  /** A client request for a reusable sandbox that asked for one (`park`): it answers `bounce` if it no longer waits. */
  | {
      t: "next";
      sandbox: number;
      rid: number;
      head: RequestHead;
      body: RemoteBodyInfo | null;
      info: DownstreamInfo;
    }
  | { t: "reply"; call: number; ok: true; value: unknown }
  | { t: "reply"; call: number; ok: false; error: RemoteError }
  | { t: "ack"; stream: number; bytes: number }
  | { t: "abort"; rid: number; limit: "wall"; message: string };

/** An error the main thread reports for a worker call. */
export interface RemoteError {
  status: number;
  message: string;
  /** `$send_error_detail_tag` for failed backend sends. */
  detail?: number;
}

// ---- worker -> main ----

export type WorkerCall =
  | { op: "send"; head: RequestHead; backend: string; body: BodySpec; options: SendOptions }
  | { op: "read"; body: number; max: number }
  /** A call to a main-thread service (the cache, stores, ...): see runtime/server/host-services.ts. */
  | { op: "invoke"; service: string; method: string; args: unknown[] };

export interface SendOptions {
  manualFraming: boolean;
  autoDecompressGzip: boolean;
  /** Cache override as set by the guest; consumed by the cache pipeline. */
  cacheOverride: CacheOverride | null;
  /** Bypass the readthrough cache (`send_v3`, `send_async_v2`). */
  bypassCache: boolean;
}

export interface CacheOverride {
  /** `$cache_override_tag` flags. */
  tag: number;
  ttl: number;
  staleWhileRevalidate: number;
  surrogateKey: string | null;
}

export interface SendResult {
  head: ResponseHead;
  body: RemoteBodyInfo | null;
  /** Address of the origin the response came from. */
  remoteAddress: string | null;
  remotePort: number;
}

export interface ReadResult {
  /** Bytes read; empty with `eof` at the end. */
  chunk: Uint8Array | null;
  eof: boolean;
  /** Trailers, sent with the end of the body. */
  trailers?: string[];
}

export type WorkerToMain =
  | { t: "ready"; tid: number | null }
  | ({ t: "call"; call: number; rid: number } & WorkerCall)
  | {
      t: "respond";
      rid: number;
      head: ResponseHead;
      manualFraming: boolean;
      body: BodySpec;
    }
  | { t: "write"; stream: number; chunk: Uint8Array | number }
  | { t: "finish"; stream: number; abandon: boolean; trailers: string[] | null }
  | { t: "log"; rid: number; endpoint: string; message: string }
  | { t: "release"; rid: number; bodies: number[] }
  | { t: "done"; rid: number; outcome: GuestOutcome; cpuMs: number }
  /** A reusable sandbox waits for another request of its module (`next_request`). */
  | { t: "park"; sandbox: number; moduleId: string }
  /** It stopped waiting (its wait timed out, or it abandoned the wait). */
  | { t: "unpark"; sandbox: number }
  /** A request sent with `next` found the sandbox no longer waiting: run it elsewhere. */
  | { t: "bounce"; rid: number };
