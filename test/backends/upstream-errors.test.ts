// The mapping from what undici and Node's sockets report to the guest's status
// and `$send_error_detail_tag`, for the failures that cannot be staged
// reliably on loopback (connect timeouts, DNS, unroutable addresses).
import { errors } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { SendErrorDetailTag } from "../../runtime/abi/constants.ts";
import { Status } from "../../runtime/abi/status.ts";
import { Backend } from "../../runtime/backends/backend.ts";
import { classifyUpstreamError } from "../../runtime/backends/upstream.ts";
import { parseManifest } from "../../runtime/config/manifest.ts";

const [config] = parseManifest(`[local_server.backends.origin]\nurl = "http://192.0.2.1:81"\n`, null, "/").backends;
const backend = new Backend(config);

function coded(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

const cases: [string, unknown, number, number][] = [
  ["connect timeout", new errors.ConnectTimeoutError(), Status.ERROR, SendErrorDetailTag.CONNECTION_TIMEOUT],
  ["socket ETIMEDOUT", coded("ETIMEDOUT"), Status.ERROR, SendErrorDetailTag.CONNECTION_TIMEOUT],
  ["refused", coded("ECONNREFUSED"), Status.ERROR, SendErrorDetailTag.CONNECTION_REFUSED],
  ["no such host", coded("ENOTFOUND"), Status.ERROR, SendErrorDetailTag.DNS_ERROR],
  ["resolver timed out", coded("EAI_AGAIN"), Status.ERROR, SendErrorDetailTag.DNS_TIMEOUT],
  ["no route", coded("EHOSTUNREACH"), Status.ERROR, SendErrorDetailTag.DESTINATION_IP_UNROUTABLE],
  ["first byte timeout", new errors.HeadersTimeoutError(), Status.ERROR, SendErrorDetailTag.HTTP_RESPONSE_TIMEOUT],
  ["between bytes timeout", new errors.BodyTimeoutError(), Status.ERROR, SendErrorDetailTag.HTTP_RESPONSE_TIMEOUT],
  ["huge head", new errors.HeadersOverflowError(), Status.HTTPHEADTOOLARGE, SendErrorDetailTag.HTTP_RESPONSE_HEADER_SECTION_TOO_LARGE],
  ["short body", new errors.ResponseContentLengthMismatchError(), Status.HTTPINCOMPLETE, SendErrorDetailTag.HTTP_INCOMPLETE_RESPONSE],
  ["closed", new errors.SocketError("other side closed"), Status.HTTPINCOMPLETE, SendErrorDetailTag.CONNECTION_TERMINATED],
  ["reset", coded("ECONNRESET"), Status.HTTPINCOMPLETE, SendErrorDetailTag.CONNECTION_TERMINATED],
  ["parser, no code", new errors.HTTPParserError("Response does not match the HTTP/1.1 protocol"), Status.HTTPINVALID, SendErrorDetailTag.HTTP_PROTOCOL_ERROR],
  ["parser, with code", coded("HPE_INVALID_CONSTANT"), Status.HTTPINVALID, SendErrorDetailTag.HTTP_PROTOCOL_ERROR],
  ["untrusted", coded("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), Status.ERROR, SendErrorDetailTag.TLS_CERTIFICATE_ERROR],
  ["self-signed", coded("DEPTH_ZERO_SELF_SIGNED_CERT"), Status.ERROR, SendErrorDetailTag.TLS_CERTIFICATE_ERROR],
  ["expired", coded("CERT_HAS_EXPIRED"), Status.ERROR, SendErrorDetailTag.TLS_CERTIFICATE_ERROR],
  ["wrong name", coded("ERR_TLS_CERT_ALTNAME_INVALID"), Status.ERROR, SendErrorDetailTag.TLS_CERTIFICATE_ERROR],
  ["alert (OpenSSL 3)", coded("ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE"), Status.ERROR, SendErrorDetailTag.TLS_ALERT_RECEIVED],
  ["alert (TLS 1.3)", coded("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED"), Status.ERROR, SendErrorDetailTag.TLS_ALERT_RECEIVED],
  ["not TLS", coded("ERR_SSL_WRONG_VERSION_NUMBER"), Status.ERROR, SendErrorDetailTag.TLS_PROTOCOL_ERROR],
  ["anything else", new Error("surprise"), Status.ERROR, SendErrorDetailTag.INTERNAL_ERROR],
];

describe("classifyUpstreamError", () => {
  afterAll(() => backend.close());

  it.each(cases)("%s", (_label, error, status, tag) => {
    const classified = classifyUpstreamError(error, backend);
    expect({ status: classified.status, tag: classified.detail }).toEqual({ status, tag });
    expect(classified.message).toMatch(/^backend origin: /);
  });
});
