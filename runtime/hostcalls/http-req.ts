// `fastly_http_req`: request objects (the client's and new ones), their
// method, URI, version and headers, cache overrides, and sending them.
import { CacheOverrideTag, ContentEncodings, FramingHeadersMode, HttpVersion } from "../abi/constants.ts";
import { HostError, Status } from "../abi/status.ts";
import { RequestState, type Session } from "../session/session.ts";
import { utf8, writeValue } from "./abi-io.ts";
import {
  clientIp,
  complianceRegion,
  originalHeaderCount,
  originalHeaderNames,
  requestId,
  serverIp,
  fastlyKeyIsValid,
  measuredAtTheEdge,
  tls,
  writeFalse,
} from "./downstream-calls.ts";
import { dynamicBackendCalls } from "./dynamic-backend.ts";
import { handoffCalls } from "./handoff.ts";
import { headerCalls } from "./header-calls.ts";
import type { HostModule } from "./host-module.ts";
import { sendCalls } from "./http-req-send.ts";

// RFC 9110 §9.1: a method is a token.
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A request target: visible ASCII only, no spaces or controls (RFC 9112 §3.2).
const URI = /^[\x21-\x7e]+$/;

/** A guest's text in a message: quoted, and cut short when long. */
function shown(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}

const CACHE_OVERRIDE_FLAGS =
  CacheOverrideTag.PASS | CacheOverrideTag.TTL | CacheOverrideTag.STALE_WHILE_REVALIDATE | CacheOverrideTag.PCI;

function checkVersion(version: number): number {
  if (version < HttpVersion.HTTP_09 || version > HttpVersion.H3) throw new HostError(Status.INVAL, "unknown HTTP version");
  return version;
}

function setCacheOverride(s: Session, h: number, tag: number, ttl: number, swr: number, surrogateKey: string | null): number {
  const request = s.requests.get(h);
  if (tag & ~CACHE_OVERRIDE_FLAGS) throw new HostError(Status.INVAL, "unknown cache override flags");
  request.cacheOverride = tag === 0 && !surrogateKey ? null : { tag, ttl: ttl >>> 0, staleWhileRevalidate: swr >>> 0, surrogateKey };
  return Status.OK;
}

export const fastlyHttpReq: HostModule = {
  body_downstream_get(s, reqOut, bodyOut) {
    s.mem.u32(reqOut, s.downstreamRequest);
    s.mem.u32(bodyOut, s.downstreamBody);
    return Status.OK;
  },

  new(s, out) {
    s.mem.u32(out, s.requests.add(new RequestState()));
    return Status.OK;
  },

  close(s, h) {
    s.requests.take(h);
    return Status.OK;
  },

  ...headerCalls((s, h) => s.requests.get(h).headers),

  method_get(s, h, buf, max, nOut) {
    return writeValue(s.mem, buf, max, nOut, utf8(s.requests.get(h).method));
  },
  method_set(s, h, ptr, len) {
    const request = s.requests.get(h);
    const method = s.mem.string(ptr, len);
    if (!METHOD.test(method)) throw new HostError(Status.ERROR, `invalid method ${shown(method)}`);
    s.chargeHostMemory(method.length - request.method.length, "request methods");
    request.method = method;
    return Status.OK;
  },

  uri_get(s, h, buf, max, nOut) {
    return writeValue(s.mem, buf, max, nOut, utf8(s.requests.get(h).uri));
  },
  uri_set(s, h, ptr, len) {
    const request = s.requests.get(h);
    const uri = s.mem.string(ptr, len);
    if (!URI.test(uri)) throw new HostError(Status.ERROR, `invalid URI ${shown(uri)}`);
    s.chargeHostMemory(uri.length - request.uri.length, "request URIs");
    request.uri = uri;
    return Status.OK;
  },

  version_get(s, h, out) {
    s.mem.u32(out, s.requests.get(h).version);
    return Status.OK;
  },
  version_set(s, h, version) {
    s.requests.get(h).version = checkVersion(version);
    return Status.OK;
  },

  cache_override_set(s, h, tag, ttl, swr) {
    return setCacheOverride(s, h, tag, ttl, swr, null);
  },
  cache_override_v2_set(s, h, tag, ttl, swr, skPtr, skLen) {
    const surrogateKey = skLen > 0 ? s.mem.latin1(skPtr, skLen) : null;
    return setCacheOverride(s, h, tag, ttl, swr, surrogateKey);
  },

  framing_headers_mode_set(s, h, mode) {
    const request = s.requests.get(h);
    if (mode !== FramingHeadersMode.AUTOMATIC && mode !== FramingHeadersMode.MANUALLY_FROM_HEADERS) {
      throw new HostError(Status.INVAL, "unknown framing headers mode");
    }
    request.manualFraming = mode === FramingHeadersMode.MANUALLY_FROM_HEADERS;
    return Status.OK;
  },

  auto_decompress_response_set(s, h, encodings) {
    const request = s.requests.get(h);
    if (encodings & ~ContentEncodings.GZIP) throw new HostError(Status.INVAL, "unknown content encodings");
    request.autoDecompressGzip = (encodings & ContentEncodings.GZIP) !== 0;
    return Status.OK;
  },

  ...sendCalls,
  ...dynamicBackendCalls,
  ...handoffCalls,

  // Deprecated forms of the `fastly_http_downstream` calls, implying the client request.
  downstream_client_ip_addr: (s, out, nOut) => clientIp(s, out, nOut),
  downstream_server_ip_addr: (s, out, nOut) => serverIp(s, out, nOut),
  downstream_client_request_id: (s, out, max, nOut) => requestId(s, out, max, nOut),
  original_header_names_get: (s, buf, len, cursor, endOut, nOut) => originalHeaderNames(s, buf, len, cursor, endOut, nOut),
  original_header_count: (s, out) => originalHeaderCount(s, out),
  downstream_compliance_region: (s, out, max, nOut) => complianceRegion(s, out, max, nOut),
  downstream_client_ddos_detected: (s, out) => writeFalse(s, out),
  downstream_client_h2_fingerprint: measuredAtTheEdge,
  downstream_client_oh_fingerprint: measuredAtTheEdge,
  downstream_tls_cipher_openssl_name: tls.cipher,
  downstream_tls_protocol: tls.protocol,
  downstream_tls_client_hello: tls.clientHello,
  downstream_tls_raw_client_certificate: tls.clientCertificate,
  downstream_tls_client_cert_verify_result: tls.clientCertVerifyResult,
  downstream_tls_ja3_md5: tls.ja3Md5,
  downstream_tls_ja4: tls.ja4,
  fastly_key_is_valid: (s, out) => fastlyKeyIsValid(s, s.downstreamRequest, out),
};
