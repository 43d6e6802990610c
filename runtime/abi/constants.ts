// Enum and flag values of the ABI (witx `typenames.witx`), 0-based in
// declaration order for enums, `1 << i` for flags.

export const HttpVersion = { HTTP_09: 0, HTTP_10: 1, HTTP_11: 2, H2: 3, H3: 4 } as const;

export const BodyWriteEnd = { BACK: 0, FRONT: 1 } as const;

export const CacheOverrideTag = { PASS: 1, TTL: 2, STALE_WHILE_REVALIDATE: 4, PCI: 8 } as const;

export const FramingHeadersMode = { AUTOMATIC: 0, MANUALLY_FROM_HEADERS: 1 } as const;

export const ContentEncodings = { GZIP: 1 } as const;

export const BackendHealth = { UNKNOWN: 0, HEALTHY: 1, UNHEALTHY: 2 } as const;

export const TlsVersion = { TLS_1: 0, TLS_1_1: 1, TLS_1_2: 2, TLS_1_3: 3 } as const;

export const ClientCertVerifyResult = {
  OK: 0,
  BAD_CERTIFICATE: 1,
  CERTIFICATE_REVOKED: 2,
  CERTIFICATE_EXPIRED: 3,
  UNKNOWN_CA: 4,
  CERTIFICATE_MISSING: 5,
  CERTIFICATE_UNKNOWN: 6,
} as const;

export const SendErrorDetailTag = {
  UNINITIALIZED: 0,
  OK: 1,
  DNS_TIMEOUT: 2,
  DNS_ERROR: 3,
  DESTINATION_NOT_FOUND: 4,
  DESTINATION_UNAVAILABLE: 5,
  DESTINATION_IP_UNROUTABLE: 6,
  CONNECTION_REFUSED: 7,
  CONNECTION_TERMINATED: 8,
  CONNECTION_TIMEOUT: 9,
  CONNECTION_LIMIT_REACHED: 10,
  TLS_CERTIFICATE_ERROR: 11,
  TLS_CONFIGURATION_ERROR: 12,
  HTTP_INCOMPLETE_RESPONSE: 13,
  HTTP_RESPONSE_HEADER_SECTION_TOO_LARGE: 14,
  HTTP_RESPONSE_BODY_TOO_LARGE: 15,
  HTTP_RESPONSE_TIMEOUT: 16,
  HTTP_RESPONSE_STATUS_INVALID: 17,
  HTTP_UPGRADE_FAILED: 18,
  HTTP_PROTOCOL_ERROR: 19,
  HTTP_REQUEST_CACHE_KEY_INVALID: 20,
  HTTP_REQUEST_URI_INVALID: 21,
  INTERNAL_ERROR: 22,
  TLS_ALERT_RECEIVED: 23,
  TLS_PROTOCOL_ERROR: 24,
  H2_ERROR: 25,
} as const;
export type SendErrorDetailTag = (typeof SendErrorDetailTag)[keyof typeof SendErrorDetailTag];

export const PendingResponseKind = { ANY: 0, RESPONSE: 1, ERROR: 2 } as const;

export const NextRequestOptionsMask = { RESERVED: 1, TIMEOUT: 2 } as const;
