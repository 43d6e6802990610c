// A Compute app in C: greets on `/`, answers 404 elsewhere.
// Build: see fastly.toml's [scripts].build; docs: vendor/outpost/README.md.
#include "outpost_helpers.h"

static fastly_status_t handle(void) {
  uint32_t req, body;
  OUTPOST_TRY(outpost_client_request(&req, &body));

  outpost_bytes uri = OUTPOST_BYTES_INIT;
  OUTPOST_TRY(outpost_req_uri(req, &uri));
  outpost_url url;
  outpost_url_parse(uri.data, uri.len, &url);
  if (!outpost_equals(url.path, url.path_len, "/")) return outpost_respond_text(404, "not found\n");

  return outpost_respond_text(200, "Hello from C on Outpost!\n");
}

int main(void) {
  fastly_status_t status = handle();
  if (status != FASTLY_STATUS_OK) outpost_respond_text(500, outpost_status_name(status));
  return 0;
}
