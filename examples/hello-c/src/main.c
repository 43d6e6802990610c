// Hello world with the Outpost C SDK: a greeting from a config store,
// personalised by a query parameter.
#include "outpost_helpers.h"

static fastly_status_t handle(void) {
  uint32_t req, body;
  OUTPOST_TRY(outpost_client_request(&req, &body));

  outpost_bytes method = OUTPOST_BYTES_INIT;
  OUTPOST_TRY(outpost_req_method(req, &method));
  if (strcmp(method.data, "GET") != 0 && strcmp(method.data, "HEAD") != 0) {
    uint32_t resp, out;
    OUTPOST_TRY(outpost_resp_new(&resp));
    OUTPOST_TRY(outpost_resp_status_set(resp, 405));
    OUTPOST_TRY(outpost_resp_header_set(resp, "allow", "GET, HEAD"));
    OUTPOST_TRY(outpost_body_new(&out));
    OUTPOST_TRY(outpost_body_write_str(out, "method not allowed\n"));
    return outpost_resp_send(resp, out);
  }

  outpost_bytes uri = OUTPOST_BYTES_INIT;
  OUTPOST_TRY(outpost_req_uri(req, &uri));
  outpost_url url;
  outpost_url_parse(uri.data, uri.len, &url);
  if (!outpost_equals(url.path, url.path_len, "/")) return outpost_respond_text(404, "not found\n");

  outpost_bytes greeting = OUTPOST_BYTES_INIT, name = OUTPOST_BYTES_INIT, text = OUTPOST_BYTES_INIT;
  if (outpost_config_get("settings", "greeting", &greeting) != FASTLY_STATUS_OK) {
    outpost_bytes_clear(&greeting);
    outpost_bytes_append_str(&greeting, "Hello");
  }
  if (outpost_query_param(&url, "name", &name) != FASTLY_STATUS_OK || name.len == 0) {
    outpost_bytes_append_str(&name, "world");
  }
  outpost_bytes_append(&text, greeting.data, greeting.len);
  outpost_bytes_append_str(&text, ", ");
  outpost_bytes_append(&text, name.data, name.len);
  outpost_bytes_append_str(&text, "!\n");
  return outpost_respond(200, "text/plain; charset=utf-8", text.data, text.len);
}

int main(void) {
  fastly_status_t status = handle();
  if (status != FASTLY_STATUS_OK) outpost_respond_text(500, outpost_status_name(status));
  return 0;
}
