// `fastly_backend`: what a guest may ask about a backend, by name.
import { HostError, Status } from "../abi/status.ts";
import type { BackendSummary } from "../engine/protocol.ts";
import type { Session } from "../session/session.ts";
import { utf8, writeValue } from "./abi-io.ts";
import type { HostModule } from "./host-module.ts";

function backendNamed(s: Session, ptr: number, len: number): BackendSummary {
  const name = s.mem.string(ptr, len);
  const backend = s.backend(name);
  if (!backend) throw new HostError(Status.INVAL, `unknown backend ${name}`);
  return backend;
}

/** A u32 fact about a backend. */
function u32Getter(read: (backend: BackendSummary) => number | null) {
  return (s: Session, ptr: number, len: number, out: number) => {
    const value = read(backendNamed(s, ptr, len));
    if (value === null) return Status.NONE;
    s.mem.u32(out, value);
    return Status.OK;
  };
}

export const fastlyBackend: HostModule = {
  exists(s, ptr, len, out) {
    const name = s.mem.string(ptr, len);
    s.mem.u32(out, s.backend(name) ? 1 : 0);
    return Status.OK;
  },
  is_healthy: u32Getter((b) => b.health),
  is_dynamic: u32Getter((b) => (b.dynamic ? 1 : 0)),
  is_ssl: u32Getter((b) => (b.ssl ? 1 : 0)),
  get_host(s, ptr, len, buf, max, nOut) {
    return writeValue(s.mem, buf, max, nOut, utf8(backendNamed(s, ptr, len).host));
  },
  get_override_host(s, ptr, len, buf, max, nOut) {
    const host = backendNamed(s, ptr, len).overrideHost;
    if (host === null) return Status.NONE;
    return writeValue(s.mem, buf, max, nOut, utf8(host));
  },
  get_port(s, ptr, len, out) {
    s.mem.u16(out, backendNamed(s, ptr, len).port);
    return Status.OK;
  },
  get_connect_timeout_ms: u32Getter((b) => b.connectTimeoutMs),
  get_first_byte_timeout_ms: u32Getter((b) => b.firstByteTimeoutMs),
  get_between_bytes_timeout_ms: u32Getter((b) => b.betweenBytesTimeoutMs),
  get_ssl_min_version: u32Getter((b) => (b.ssl ? b.sslMinVersion : null)),
  get_ssl_max_version: u32Getter((b) => (b.ssl ? b.sslMaxVersion : null)),
  // Connection reuse is on with undici's defaults; TCP keepalive probes are the OS's,
  // unless a dynamic backend asked for its own.
  get_http_keepalive_time: u32Getter((b) => b.keepalive?.httpKeepaliveMs ?? 4000),
  get_tcp_keepalive_enable: u32Getter((b) => (b.keepalive?.tcpKeepalive ? 1 : 0)),
  get_tcp_keepalive_interval: u32Getter((b) => b.keepalive?.tcpIntervalSecs ?? 0),
  get_tcp_keepalive_probes: u32Getter((b) => b.keepalive?.tcpProbes ?? 0),
  get_tcp_keepalive_time: u32Getter((b) => b.keepalive?.tcpTimeSecs ?? 0),
};
