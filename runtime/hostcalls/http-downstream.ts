// `fastly_http_downstream`: facts about the client request, by handle.
// Bot and proxy detection are production-only: `none`. Reusable sandboxes
// (`next_request*`) are not implemented yet and answer `unsupported`.
import { Status } from "../abi/status.ts";
import type { Session } from "../session/session.ts";
import {
  checkDownstream,
  clientIp,
  complianceRegion,
  originalHeaderCount,
  originalHeaderNames,
  requestId,
  serverIp,
  writeFalse,
} from "./downstream-calls.ts";
import type { HostModule } from "./host-module.ts";

/** Checks the request handle, then answers `none`. */
const none = (s: Session, req: number) => {
  checkDownstream(s, req);
  return Status.NONE;
};

export const fastlyHttpDownstream: HostModule = {
  downstream_client_ip_addr: (s, req, out, nOut) => (checkDownstream(s, req), clientIp(s, out, nOut)),
  downstream_server_ip_addr: (s, req, out, nOut) => (checkDownstream(s, req), serverIp(s, out, nOut)),
  downstream_client_request_id: (s, req, out, max, nOut) => (checkDownstream(s, req), requestId(s, out, max, nOut)),
  downstream_original_header_names: (s, req, buf, len, cursor, endOut, nOut) => (
    checkDownstream(s, req), originalHeaderNames(s, buf, len, cursor, endOut, nOut)
  ),
  downstream_original_header_count: (s, req, out) => (checkDownstream(s, req), originalHeaderCount(s, out)),
  downstream_compliance_region: (s, req, out, max, nOut) => (checkDownstream(s, req), complianceRegion(s, out, max, nOut)),
  downstream_client_ddos_detected: (s, req, out) => (checkDownstream(s, req), writeFalse(s, out)),
  fastly_key_is_valid: (s, req, out) => (checkDownstream(s, req), writeFalse(s, out)),
  downstream_client_h2_fingerprint: none,
  downstream_client_oh_fingerprint: none,
  downstream_tls_cipher_openssl_name: none,
  downstream_tls_protocol: none,
  downstream_tls_client_hello: none,
  downstream_tls_raw_client_certificate: none,
  downstream_tls_client_cert_verify_result: none,
  downstream_tls_client_servername: none,
  downstream_tls_ja3_md5: none,
  downstream_tls_ja4: none,
  downstream_bot_analyzed: (s, req, out) => (checkDownstream(s, req), writeFalse(s, out)),
  downstream_bot_detected: none,
  downstream_bot_name: none,
  downstream_bot_category: none,
  downstream_bot_category_kind: none,
  downstream_bot_verified: none,
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
