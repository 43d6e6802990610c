// `fastly_http_downstream`: facts about the client request, by handle, and
// reusable sandboxes (`next_request*`: runtime/session/next-request.ts).
// Proxy detection and HTTP/2 fingerprints are production-only: `none`; bot
// detection answers from X-Fastly-Bot-* fields in local testing.
import { HostError, Status } from "../abi/status.ts";
import { flushOutput } from "./wasi.ts";
import { MAX_NEXT_REQUEST_WAIT_MS, MAX_REQUESTS_PER_SANDBOX, type RequestPromise } from "../session/next-request.ts";
import type { Session } from "../session/session.ts";
import {
  checkDownstream,
  clientIp,
  complianceRegion,
  originalHeaderCount,
  originalHeaderNames,
  requestId,
  serverIp,
  bot,
  fastlyKeyIsValid,
  tls,
  writeFalse,
} from "./downstream-calls.ts";
import { type HostModule, suspending } from "./host-module.ts";

/** `$next_request_options_mask`: the `timeout` bit (the `reserved` bit is ignored). */
const NEXT_REQUEST_TIMEOUT = 1 << 1;

/** Asks the main thread for another request for this sandbox; the wait starts now. */
function nextRequest(s: Session, mask: number, options: number, out: number): number {
  s.mem.slice(out, 4);
  if (!s.link.awaitNextRequest) return Status.UNSUPPORTED;
  if (s.requestPromises.size > 0) throw new HostError(Status.ERROR, "this sandbox already waits for its next request");
  let timeoutMs = MAX_NEXT_REQUEST_WAIT_MS;
  if (mask & NEXT_REQUEST_TIMEOUT) timeoutMs = Math.min(timeoutMs, Number(s.mem.readU64(options)));
  const wait: RequestPromise =
    s.served + 1 >= MAX_REQUESTS_PER_SANDBOX ? { promise: Promise.resolve(null), abandon() {} } : s.link.awaitNextRequest(s, timeoutMs);
  s.mem.u32(out, s.requestPromises.add(wait));
  return Status.OK;
}

/**
 * Waits for the next request. The current one is over: once what it left
 * running (a streaming response) is done, the main thread is told, so that
 * its client is answered and its log line written. Then the next request
 * becomes the session's current one, with its own handles and limits.
 */
async function nextRequestWait(s: Session, handle: number, reqOut: number, bodyOut: number): Promise<number> {
  const wait = s.requestPromises.take(handle);
  s.mem.slice(reqOut, 4);
  s.mem.slice(bodyOut, 4);
  await finishCurrentRequest(s);
  const next = await wait.promise;
  if (!next) return Status.NONE;
  s.adoptDownstream(next.rid, next.head, next.body, next.info);
  s.served++;
  s.mem.u32(reqOut, s.downstreamRequest);
  s.mem.u32(bodyOut, s.downstreamBody);
  return Status.OK;
}

async function finishCurrentRequest(s: Session): Promise<void> {
  if (s.reported) return;
  await Promise.allSettled(s.background);
  s.background = [];
  flushOutput(s);
  s.link.requestDone?.(s);
  s.reported = true;
}

/** Checks the request handle, then answers `none`. */
const none = (s: Session, req: number) => {
  checkDownstream(s, req);
  return Status.NONE;
};

export const fastlyHttpDownstream: HostModule = {
  next_request: nextRequest,
  next_request_wait: suspending(nextRequestWait),
  next_request_abandon: (s, handle) => {
    s.requestPromises.take(handle).abandon();
    return Status.OK;
  },
  downstream_client_ip_addr: (s, req, out, nOut) => (checkDownstream(s, req), clientIp(s, out, nOut)),
  downstream_server_ip_addr: (s, req, out, nOut) => (checkDownstream(s, req), serverIp(s, out, nOut)),
  downstream_client_request_id: (s, req, out, max, nOut) => (checkDownstream(s, req), requestId(s, out, max, nOut)),
  downstream_original_header_names: (s, req, buf, len, cursor, endOut, nOut) => (
    checkDownstream(s, req), originalHeaderNames(s, buf, len, cursor, endOut, nOut)
  ),
  downstream_original_header_count: (s, req, out) => (checkDownstream(s, req), originalHeaderCount(s, out)),
  downstream_compliance_region: (s, req, out, max, nOut) => (checkDownstream(s, req), complianceRegion(s, out, max, nOut)),
  downstream_client_ddos_detected: (s, req, out) => (checkDownstream(s, req), writeFalse(s, out)),
  fastly_key_is_valid: (s, req, out) => (checkDownstream(s, req), fastlyKeyIsValid(s, req, out)),
  downstream_client_h2_fingerprint: none,
  downstream_client_oh_fingerprint: none,
  downstream_tls_cipher_openssl_name: (s, req, out, max, nOut) => (checkDownstream(s, req), tls.cipher(s, out, max, nOut)),
  downstream_tls_protocol: (s, req, out, max, nOut) => (checkDownstream(s, req), tls.protocol(s, out, max, nOut)),
  downstream_tls_client_hello: (s, req, out, max, nOut) => (checkDownstream(s, req), tls.clientHello(s, out, max, nOut)),
  downstream_tls_raw_client_certificate: (s, req, out, max, nOut) => (checkDownstream(s, req), tls.clientCertificate(s, out, max, nOut)),
  downstream_tls_client_cert_verify_result: (s, req, out) => (checkDownstream(s, req), tls.clientCertVerifyResult(s, out)),
  downstream_tls_client_servername: (s, req, out, max, nOut) => (checkDownstream(s, req), tls.serverName(s, out, max, nOut)),
  downstream_tls_ja3_md5: (s, req, out, nOut) => (checkDownstream(s, req), tls.ja3Md5(s, out, nOut)),
  downstream_tls_ja4: (s, req, out, max, nOut) => (checkDownstream(s, req), tls.ja4(s, out, max, nOut)),
  downstream_bot_analyzed: (s, req, out) => (checkDownstream(s, req), bot.analyzed(s, out)),
  downstream_bot_detected: (s, req, out) => (checkDownstream(s, req), bot.detected(s, out)),
  downstream_bot_name: (s, req, out, max, nOut) => (checkDownstream(s, req), bot.name(s, out, max, nOut)),
  downstream_bot_category: (s, req, out, max, nOut) => (checkDownstream(s, req), bot.category(s, out, max, nOut)),
  downstream_bot_category_kind: (s, req, out) => (checkDownstream(s, req), bot.categoryKind(s, out)),
  downstream_bot_verified: (s, req, out) => (checkDownstream(s, req), bot.verified(s, out)),
  downstream_resvpnproxy_is_anonymous: none,
  downstream_resvpnproxy_is_anonymous_vpn: none,
  downstream_resvpnproxy_is_hosting_provider: none,
  downstream_resvpnproxy_is_proxy_over_vpn: none,
  downstream_resvpnproxy_is_public_proxy: none,
  downstream_resvpnproxy_is_relay_proxy: none,
  downstream_resvpnproxy_is_residential_proxy: none,
  downstream_resvpnproxy_is_smart_dns_proxy: none,
  downstream_resvpnproxy_is_tor_exit_node: none,
  downstream_resvpnproxy_is_vpn_datacenter: none,
  downstream_resvpnproxy_vpn_service_name: none,
};
