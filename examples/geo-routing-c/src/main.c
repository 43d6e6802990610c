// Geolocation routing with the Outpost C SDK: every request goes to the
// origin nearest to its client, "eu" for clients in Europe and "us" for
// everyone else (and for clients the geolocation data does not know).
//
// The host caches what origins allow, by host and URL: the backend is not
// part of the key. The app tells origins the client's region in
// `x-client-region`; an origin whose cacheable answers differ by region says
// `Vary: x-client-region`, so that each region gets its own cached copy.
#include "outpost_helpers.h"

// The backend for a client, by the continent it is in.
static const char *backend_for(uint32_t req, outpost_bytes *country) {
  uint8_t ip[16];
  size_t len = 0;
  outpost_bytes geo = OUTPOST_BYTES_INIT, continent = OUTPOST_BYTES_INIT;
  if (outpost_client_ip(req, ip, &len) != FASTLY_STATUS_OK) return "us";
  if (outpost_geo_lookup(ip, len, &geo) != FASTLY_STATUS_OK) return "us";
  outpost_json_string(geo.data, geo.len, "country_code", country);
  if (outpost_json_string(geo.data, geo.len, "continent", &continent) != FASTLY_STATUS_OK) return "us";
  return strcmp(continent.data, "EU") == 0 ? "eu" : "us";
}

static fastly_status_t handle(void) {
  uint32_t req, body, resp, resp_body;
  OUTPOST_TRY(outpost_client_request(&req, &body));

  outpost_bytes country = OUTPOST_BYTES_INIT;
  const char *backend = backend_for(req, &country);
  // Tell the origin where the client is, as a CDN would.
  OUTPOST_TRY(outpost_req_header_set(req, "x-client-region", backend));
  if (country.len) OUTPOST_TRY(outpost_req_header_set(req, "x-client-country", country.data));

  fastly_status_t sent = outpost_send(req, body, backend, &resp, &resp_body);
  if (sent != FASTLY_STATUS_OK) return outpost_respond_text(502, "origin unreachable\n");
  OUTPOST_TRY(outpost_resp_header_set(resp, "x-routed-to", backend));
  return outpost_resp_send(resp, resp_body);
}

int main(void) {
  fastly_status_t status = handle();
  if (status != FASTLY_STATUS_OK) outpost_respond_text(500, outpost_status_name(status));
  return 0;
}
