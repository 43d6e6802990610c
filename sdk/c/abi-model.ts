// The ABI as both SDK generators see it: the functions of
// runtime/abi/signatures.json with a guest-side type for every parameter,
// and the enums, flags and records of the witx (ABI-SUMMARY §8).
//
// signatures.json only says i32 or i64; which i32 is a pointer, a length or
// a plain value follows from the lowering rules (ABI-SUMMARY §2) and the
// parameter names, classified below (a pointer-like name the rules do not
// know stops the generators). The enums, flags and record layouts are those
// of ABI-SUMMARY §8. test/sdk/c.test.ts checks all of it against the witx
// and the reference signatures when they are at hand (../shared/abi).
import { ABI, type AbiParam } from "../../runtime/abi/signatures.ts";

/** A parameter as a guest declares it. */
export type ParamType =
  | { kind: "u32" } // plain values: handles, enums, flags, u32
  | { kind: "u64" }
  | { kind: "size" } // a byte length or an element count
  | { kind: "bytes-in" } // list<u8>, string, const_pointer<char8>: read by the host
  | { kind: "bytes-out" } // a buffer the host writes into
  | { kind: "handles-in" } // list<handle>: u32 elements
  | { kind: "out"; type: "u16" | "u32" | "u64" | "i64" | "size" } // one value the host writes
  | { kind: "record"; record: string; out: boolean }; // pointer to a record of RECORDS

export interface LoweredParam {
  name: string;
  type: ParamType;
}

export interface LoweredFunction {
  module: string;
  name: string;
  params: LoweredParam[];
}

export interface AbiEnum {
  name: string;
  /** Flags are `1 << i` in declaration order; enum values are the index. */
  flags: boolean;
  values: readonly string[];
}

/** A field type: an integer, `usize`, or a pointer (`T*`, T an integer or a record name). */
export type FieldType = "u8" | "u16" | "u32" | "u64" | "usize" | `${string}*`;

export interface AbiRecord {
  name: string;
  size: number;
  /** name, type, byte offset (wasm32). */
  fields: readonly (readonly [string, FieldType, number])[];
}

/** Single values every SDK agrees on (ABI-SUMMARY §4.1, §5). */
export const CONSTANTS: readonly (readonly [string, number, string])[] = [
  ["abi_version", 1, "the only version fastly_abi::init accepts"],
  ["invalid_handle", 0xfffffffe, "\"no handle\" (u32::MAX - 1)"],
  ["select_timeout", 0xffffffff, "fastly_async_io::select's result on timeout"],
];

export function enumValue(e: AbiEnum, index: number): number {
  return e.flags ? 2 ** index : index;
}

export const ENUMS: readonly AbiEnum[] = [
  {
    name: "fastly_status",
    flags: false,
    values: [
      "ok", "error", "inval", "badf", "buflen", "unsupported", "badalign", "httpinvalid", "httpuser",
      "httpincomplete", "none", "httpheadtoolarge", "httpinvalidstatus", "limitexceeded", "again",
    ],
  },
  { name: "http_version", flags: false, values: ["http_09", "http_10", "http_11", "h2", "h3"] },
  { name: "body_write_end", flags: false, values: ["back", "front"] },
  { name: "cache_override_tag", flags: true, values: ["pass", "ttl", "stale_while_revalidate", "pci"] },
  { name: "backend_health", flags: false, values: ["unknown", "healthy", "unhealthy"] },
  { name: "content_encodings", flags: true, values: ["gzip"] },
  { name: "framing_headers_mode", flags: false, values: ["automatic", "manually_from_headers"] },
  { name: "http_keepalive_mode", flags: false, values: ["automatic", "no_keepalive"] },
  { name: "tls_version", flags: false, values: ["tls_1", "tls_1_1", "tls_1_2", "tls_1_3"] },
  { name: "kv_lookup_config_options", flags: true, values: ["reserved"] },
  { name: "kv_delete_config_options", flags: true, values: ["reserved"] },
  {
    name: "kv_insert_config_options",
    flags: true,
    values: [
      "reserved", "background_fetch", "reserved_2", "metadata", "time_to_live_sec", "if_generation_match",
    ],
  },
  { name: "kv_insert_mode", flags: false, values: ["overwrite", "add", "append", "prepend"] },
  { name: "kv_list_config_options", flags: true, values: ["reserved", "cursor", "limit", "prefix"] },
  { name: "kv_list_mode", flags: false, values: ["strong", "eventual"] },
  {
    name: "kv_error",
    flags: false,
    values: [
      "uninitialized", "ok", "bad_request", "not_found", "precondition_failed", "payload_too_large",
      "internal_error", "too_many_requests",
    ],
  },
  {
    name: "backend_config_options",
    flags: true,
    values: [
      "reserved", "host_override", "connect_timeout", "first_byte_timeout", "between_bytes_timeout", "use_ssl",
      "ssl_min_version", "ssl_max_version", "cert_hostname", "ca_cert", "ciphers", "sni_hostname", "dont_pool",
      "client_cert", "grpc", "keepalive", "pooling_limits", "prefer_ipv4", "healthcheck",
    ],
  },
  {
    name: "client_cert_verify_result",
    flags: false,
    values: [
      "ok", "bad_certificate", "certificate_revoked", "certificate_expired", "unknown_ca", "certificate_missing",
      "certificate_unknown",
    ],
  },
  { name: "purge_options_mask", flags: true, values: ["soft_purge", "ret_buf"] },
  {
    name: "send_error_detail_tag",
    flags: false,
    values: [
      "uninitialized", "ok", "dns_timeout", "dns_error", "destination_not_found", "destination_unavailable",
      "destination_ip_unroutable", "connection_refused", "connection_terminated", "connection_timeout",
      "connection_limit_reached", "tls_certificate_error", "tls_configuration_error", "http_incomplete_response",
      "http_response_header_section_too_large", "http_response_body_too_large", "http_response_timeout",
      "http_response_status_invalid", "http_upgrade_failed", "http_protocol_error", "http_request_cache_key_invalid",
      "http_request_uri_invalid", "internal_error", "tls_alert_received", "tls_protocol_error", "h2_error",
    ],
  },
  {
    name: "send_error_detail_mask",
    flags: true,
    values: [
      "reserved", "dns_error_rcode", "dns_error_info_code", "tls_alert_id", "h2_error",
    ],
  },
  { name: "inspect_info_mask", flags: true, values: ["reserved", "corp", "workspace", "override_client_ip"] },
  { name: "acl_error", flags: false, values: ["uninitialized", "ok", "no_content", "too_many_requests"] },
  { name: "image_optimizer_transform_config_options", flags: true, values: ["reserved", "sdk_claims_opts"] },
  { name: "image_optimizer_error_tag", flags: false, values: ["uninitialized", "ok", "error", "warning"] },
  { name: "next_request_options_mask", flags: true, values: ["reserved", "timeout"] },
  { name: "pending_response_kind", flags: false, values: ["any", "response", "error"] },
  {
    name: "cache_lookup_options_mask",
    flags: true,
    values: [
      "reserved", "request_headers", "service_id", "always_use_requested_range",
    ],
  },
  {
    name: "cache_replace_options_mask",
    flags: true,
    values: [
      "reserved", "request_headers", "replace_strategy", "service_id", "always_use_requested_range",
    ],
  },
  {
    name: "cache_write_options_mask",
    flags: true,
    values: [
      "reserved", "request_headers", "vary_rule", "initial_age_ns", "stale_while_revalidate_ns", "surrogate_keys",
      "length", "user_metadata", "sensitive_data", "edge_max_age_ns", "service_id",
    ],
  },
  { name: "cache_get_body_options_mask", flags: true, values: ["reserved", "from", "to"] },
  {
    name: "cache_lookup_state",
    flags: true,
    values: [
      "found", "usable", "stale", "must_insert_or_update", "usable_if_error",
    ],
  },
  { name: "http_storage_action", flags: false, values: ["insert", "update", "do_not_store", "record_uncacheable"] },
  { name: "http_cache_lookup_options_mask", flags: true, values: ["reserved", "override_key", "backend_name"] },
  {
    name: "http_cache_write_options_mask",
    flags: true,
    values: [
      "reserved", "vary_rule", "initial_age_ns", "stale_while_revalidate_ns", "surrogate_keys", "length",
      "sensitive_data", "stale_if_error_ns",
    ],
  },
  {
    name: "shield_backend_options",
    flags: true,
    values: [
      "reserved", "use_cache_key", "first_byte_timeout", "between_bytes_timeout",
    ],
  },
];

export const RECORDS: readonly AbiRecord[] = [
  {
    name: "kv_lookup_config",
    size: 4,
    fields: [
      ["reserved", "u32", 0],
    ],
  },
  {
    name: "kv_delete_config",
    size: 4,
    fields: [
      ["reserved", "u32", 0],
    ],
  },
  {
    name: "kv_insert_config",
    size: 32,
    fields: [
      ["mode", "u32", 0],
      ["unused", "u32", 4],
      ["metadata", "char*", 8],
      ["metadata_len", "u32", 12],
      ["time_to_live_sec", "u32", 16],
      ["if_generation_match", "u64", 24],
    ],
  },
  {
    name: "kv_list_config",
    size: 24,
    fields: [
      ["mode", "u32", 0],
      ["cursor", "char*", 4],
      ["cursor_len", "u32", 8],
      ["limit", "u32", 12],
      ["prefix", "char*", 16],
      ["prefix_len", "u32", 20],
    ],
  },
  {
    name: "healthcheck_config",
    size: 56,
    fields: [
      ["interval_ms", "u64", 0],
      ["timeout_ms", "u64", 8],
      ["host", "char*", 16],
      ["host_len", "u32", 20],
      ["method", "char*", 24],
      ["method_len", "u32", 28],
      ["path", "char*", 32],
      ["path_len", "u32", 36],
      ["expected_status", "u32", 40],
      ["window", "u32", 44],
      ["threshold", "u32", 48],
      ["initial", "u32", 52],
    ],
  },
  {
    name: "dynamic_backend_config",
    size: 108,
    fields: [
      ["host_override", "char*", 0],
      ["host_override_len", "u32", 4],
      ["connect_timeout_ms", "u32", 8],
      ["first_byte_timeout_ms", "u32", 12],
      ["between_bytes_timeout_ms", "u32", 16],
      ["ssl_min_version", "u32", 20],
      ["ssl_max_version", "u32", 24],
      ["cert_hostname", "char*", 28],
      ["cert_hostname_len", "u32", 32],
      ["ca_cert", "char*", 36],
      ["ca_cert_len", "u32", 40],
      ["ciphers", "char*", 44],
      ["ciphers_len", "u32", 48],
      ["sni_hostname", "char*", 52],
      ["sni_hostname_len", "u32", 56],
      ["client_certificate", "char*", 60],
      ["client_certificate_len", "u32", 64],
      ["client_key", "u32", 68],
      ["http_keepalive_time_ms", "u32", 72],
      ["tcp_keepalive_enable", "u32", 76],
      ["tcp_keepalive_interval_secs", "u32", 80],
      ["tcp_keepalive_probes", "u32", 84],
      ["tcp_keepalive_time_secs", "u32", 88],
      ["max_connections", "u32", 92],
      ["max_use", "u32", 96],
      ["max_lifetime_ms", "u32", 100],
      ["healthcheck", "healthcheck_config*", 104],
    ],
  },
  {
    name: "purge_options",
    size: 12,
    fields: [
      ["ret_buf_ptr", "u8*", 0],
      ["ret_buf_len", "usize", 4],
      ["ret_buf_nwritten_out", "usize*", 8],
    ],
  },
  {
    name: "send_error_detail",
    size: 20,
    fields: [
      ["tag", "u32", 0],
      ["mask", "u32", 4],
      ["dns_error_rcode", "u16", 8],
      ["dns_error_info_code", "u16", 10],
      ["tls_alert_id", "u8", 12],
      ["h2_error_frame", "u8", 13],
      ["h2_error_code", "u32", 16],
    ],
  },
  {
    name: "inspect_info",
    size: 24,
    fields: [
      ["corp", "char*", 0],
      ["corp_len", "u32", 4],
      ["workspace", "char*", 8],
      ["workspace_len", "u32", 12],
      ["override_client_ip_ptr", "u8*", 16],
      ["override_client_ip_len", "u32", 20],
    ],
  },
  {
    name: "image_optimizer_transform_config",
    size: 8,
    fields: [
      ["sdk_claims_opts", "char*", 0],
      ["sdk_claims_opts_len", "u32", 4],
    ],
  },
  {
    name: "image_optimizer_error_detail",
    size: 12,
    fields: [
      ["tag", "u32", 0],
      ["message", "char*", 4],
      ["message_len", "u32", 8],
    ],
  },
  {
    name: "next_request_options",
    size: 8,
    fields: [
      ["timeout_ms", "u64", 0],
    ],
  },
  {
    name: "cache_lookup_options",
    size: 12,
    fields: [
      ["request_headers", "u32", 0],
      ["service_id", "char*", 4],
      ["service_id_len", "u32", 8],
    ],
  },
  {
    name: "cache_replace_options",
    size: 16,
    fields: [
      ["request_headers", "u32", 0],
      ["replace_strategy", "u32", 4],
      ["service_id", "char*", 8],
      ["service_id_len", "u32", 12],
    ],
  },
  {
    name: "cache_write_options",
    size: 80,
    fields: [
      ["max_age_ns", "u64", 0],
      ["request_headers", "u32", 8],
      ["vary_rule_ptr", "char*", 12],
      ["vary_rule_len", "usize", 16],
      ["initial_age_ns", "u64", 24],
      ["stale_while_revalidate_ns", "u64", 32],
      ["surrogate_keys_ptr", "char*", 40],
      ["surrogate_keys_len", "usize", 44],
      ["length", "u64", 48],
      ["user_metadata_ptr", "u8*", 56],
      ["user_metadata_len", "usize", 60],
      ["edge_max_age_ns", "u64", 64],
      ["service_id", "char*", 72],
      ["service_id_len", "u32", 76],
    ],
  },
  {
    name: "cache_get_body_options",
    size: 16,
    fields: [
      ["from", "u64", 0],
      ["to", "u64", 8],
    ],
  },
  {
    name: "http_cache_lookup_options",
    size: 16,
    fields: [
      ["override_key_ptr", "char*", 0],
      ["override_key_len", "usize", 4],
      ["backend_name_ptr", "char*", 8],
      ["backend_name_len", "usize", 12],
    ],
  },
  {
    name: "http_cache_write_options",
    size: 56,
    fields: [
      ["max_age_ns", "u64", 0],
      ["vary_rule_ptr", "char*", 8],
      ["vary_rule_len", "usize", 12],
      ["initial_age_ns", "u64", 16],
      ["stale_while_revalidate_ns", "u64", 24],
      ["surrogate_keys_ptr", "char*", 32],
      ["surrogate_keys_len", "usize", 36],
      ["length", "u64", 40],
      ["stale_if_error_ns", "u64", 48],
    ],
  },
  {
    name: "shield_backend_config",
    size: 16,
    fields: [
      ["cache_key", "char*", 0],
      ["cache_key_len", "u32", 4],
      ["first_byte_timeout_ms", "u32", 8],
      ["between_bytes_timeout_ms", "u32", 12],
    ],
  },
];

/** Records passed by pointer, by parameter name (`options` depends on the function). */
function recordParam(module: string, fn: string, name: string): ParamType | undefined {
  const record = (record: string, out = false): ParamType => ({ kind: "record", record, out });
  switch (name) {
    case "error_detail":
      return record("send_error_detail", true);
    case "io_error_detail":
      return record("image_optimizer_error_detail", true);
    case "insp_info":
      return record("inspect_info");
    case "lookup_configuration":
    case "insert_configuration":
    case "delete_configuration":
    case "list_configuration":
      return record(`kv_${name.replace("_configuration", "")}_config`);
    case "io_transform_configuration":
      return record("image_optimizer_transform_config");
    case "backend_configuration":
      return record(module === "fastly_shielding" ? "shield_backend_config" : "dynamic_backend_config");
    case "options_out":
      return record("http_cache_write_options", true);
    case "options":
      if (module === "fastly_cache") {
        if (fn.includes("lookup")) return record("cache_lookup_options");
        if (fn === "replace") return record("cache_replace_options");
        if (fn.endsWith("get_body")) return record("cache_get_body_options");
        return record("cache_write_options");
      }
      if (module === "fastly_http_cache") {
        return record(fn.includes("lookup") ? "http_cache_lookup_options" : "http_cache_write_options");
      }
      if (module === "fastly_http_downstream") return record("next_request_options");
      if (module === "fastly_purge") return record("purge_options");
      throw new Error(`${module}::${fn}: which record does \`options\` point to?`);
    default:
      return undefined;
  }
}

/** Values the host writes through an explicit `(@witx pointer T)` parameter. */
const OUT_VALUES: Record<string, "u32" | "u64" | "i64" | "size"> = {
  nwritten_out: "size",
  family_nwritten_out: "size",
  major_nwritten_out: "size",
  minor_nwritten_out: "size",
  patch_nwritten_out: "size",
  ending_cursor_out: "i64",
  body_handle_out: "u32",
  handle_out: "u32",
  pending_handle_out: "u32",
  kv_error_out: "u32",
  acl_error_out: "u32",
  options_mask_out: "u32",
};

/** Buffers the host reads that are not named `*_ptr`. */
const INPUT_BUFFERS = new Set(["addr_octets", "ip_octets"]);
/** Buffers the host writes whose length is implied (16 address octets, 16 MD5 bytes). */
const FIXED_OUTPUT_BUFFERS = new Set(["addr_octets_out", "cja3_md5_out"]);

function classify(module: string, fn: string, params: readonly AbiParam[], index: number): ParamType {
  const [name, wasmType, outBytes] = params[index];
  const next = params[index + 1]?.[0];
  if (wasmType === "i64") return { kind: "u64" };
  // ABI-SUMMARY §2: out-pointers appended for result values, by their width
  // (`$num_bytes` and `$num_hops` are usize).
  if (name === "num_bytes_out" || name === "num_hops_out") return { kind: "out", type: "size" };
  if (outBytes !== undefined) return { kind: "out", type: outBytes === 2 ? "u16" : outBytes === 8 ? "u64" : "u32" };
  const record = recordParam(module, fn, name);
  if (record) return record;
  if (name.endsWith("_ptr") && next === `${name.slice(0, -4)}_len`) {
    if (name === "hs_ptr") return { kind: "handles-in" };
    return name.endsWith("_out_ptr") ? { kind: "bytes-out" } : { kind: "bytes-in" };
  }
  if (name.endsWith("_len")) return { kind: "size" };
  if (name === "generation_out") return { kind: "out", type: fn === "lookup_wait" ? "u32" : "u64" };
  if (Object.hasOwn(OUT_VALUES, name)) return { kind: "out", type: OUT_VALUES[name] };
  if (INPUT_BUFFERS.has(name)) return { kind: "bytes-in" };
  if (FIXED_OUTPUT_BUFFERS.has(name) || next?.endsWith("_len")) return { kind: "bytes-out" };
  if (/_(out|ptr)$|^(buf|value)$/.test(name)) throw new Error(`${module}::${fn}: unclassified pointer parameter ${name}`);
  return { kind: "u32" };
}

/** Every function of the ABI, modules and functions in a stable (sorted) order. */
export function lowerAbi(): LoweredFunction[] {
  const functions: LoweredFunction[] = [];
  for (const module of Object.keys(ABI).sort()) {
    for (const name of Object.keys(ABI[module]).sort()) {
      const params = ABI[module][name];
      functions.push({
        module,
        name,
        params: params.map(([param], index) => ({ name: param, type: classify(module, name, params, index) })),
      });
    }
  }
  return functions;
}

export function recordByName(name: string): AbiRecord {
  const record = RECORDS.find((r) => r.name === name);
  if (!record) throw new Error(`no record ${name}`);
  return record;
}
