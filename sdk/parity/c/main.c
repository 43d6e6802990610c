// The parity app (sdk/parity/README.md) with the C SDK.
// Build: clang-14 --target=wasm32-wasi --sysroot=/usr -Os -Wl,--gc-sections,--strip-all -o main.wasm main.c
#include "../../c/include/outpost_helpers.h"

static fastly_status_t text(uint16_t status, const char *body) {
  return outpost_respond(status, "text/plain", body, strlen(body));
}

static fastly_status_t hello(void) {
  static const char body[] = "hello, world\n";
  return outpost_respond(200, "text/plain; charset=utf-8", body, sizeof body - 1);
}

static fastly_status_t echo(uint32_t body) {
  outpost_bytes data = OUTPOST_BYTES_INIT, length = OUTPOST_BYTES_INIT;
  OUTPOST_TRY(outpost_body_read_all(body, &data));
  outpost_bytes_append_u64(&length, data.len);

  uint32_t resp, out;
  OUTPOST_TRY(outpost_resp_new(&resp));
  OUTPOST_TRY(outpost_resp_header_set(resp, "content-type", "application/octet-stream"));
  OUTPOST_TRY(outpost_resp_header_set(resp, "x-body-length", length.data));
  OUTPOST_TRY(outpost_body_new(&out));
  OUTPOST_TRY(outpost_body_write(out, data.data, data.len));
  return outpost_resp_send(resp, out);
}

// The names in byte order, without sorting in place: each round picks the
// smallest name after the last one written (names are distinct).
static fastly_status_t headers(uint32_t req) {
  outpost_bytes names = OUTPOST_BYTES_INIT, body = OUTPOST_BYTES_INIT;
  OUTPOST_TRY(outpost_req_header_names(req, &names));
  for (const char *last = NULL;;) {
    const char *next = NULL;
    OUTPOST_EACH(name, &names) {
      if ((!last || strcmp(name, last) > 0) && (!next || strcmp(name, next) < 0)) next = name;
    }
    if (!next) break;
    outpost_bytes_append_str(&body, next);
    outpost_bytes_append(&body, "\n", 1);
    last = next;
  }
  return outpost_respond(200, "text/plain", body.data, body.len);
}

// Sends the client's own request on, with `/proxy` taken off its path.
static fastly_status_t proxy(uint32_t req, uint32_t body, const outpost_url *url) {
  const char *rest = url->path + 6;
  size_t rest_len = url->path_len - 6;
  outpost_bytes uri = OUTPOST_BYTES_INIT;
  outpost_bytes_append(&uri, url->origin, url->origin_len);
  if (rest_len == 0) outpost_bytes_append(&uri, "/", 1);
  outpost_bytes_append(&uri, rest, rest_len);
  outpost_bytes_append(&uri, url->query, url->query_len);
  OUTPOST_TRY(outpost_req_uri_set(req, uri.data, uri.len));

  uint32_t resp, resp_body;
  if (outpost_send(req, body, "origin", &resp, &resp_body) != FASTLY_STATUS_OK) {
    return text(502, "origin unreachable\n");
  }
  OUTPOST_TRY(outpost_resp_header_set(resp, "x-parity-proxy", "1"));
  return outpost_resp_send(resp, resp_body);
}

static fastly_status_t status(const char *code, size_t len) {
  int valid = len == 3 && code[0] >= '2' && code[0] <= '5' && code[1] >= '0' && code[1] <= '9' && code[2] >= '0' &&
              code[2] <= '9';
  if (!valid) return text(400, "bad status\n");
  char body[] = "status XXX\n";
  memcpy(body + 7, code, 3);
  uint16_t value = (uint16_t)((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0'));
  return outpost_respond(value, "text/plain", body, sizeof body - 1);
}

static int has_prefix(const outpost_url *url, const char *prefix) {
  size_t n = strlen(prefix);
  return url->path_len >= n && memcmp(url->path, prefix, n) == 0;
}

static fastly_status_t route(void) {
  uint32_t req, body;
  outpost_bytes uri = OUTPOST_BYTES_INIT;
  OUTPOST_TRY(outpost_client_request(&req, &body));
  OUTPOST_TRY(outpost_req_uri(req, &uri));
  outpost_url url;
  outpost_url_parse(uri.data, uri.len, &url);

  if (outpost_equals(url.path, url.path_len, "/hello")) return hello();
  if (outpost_equals(url.path, url.path_len, "/echo")) return echo(body);
  if (outpost_equals(url.path, url.path_len, "/headers")) return headers(req);
  if (outpost_equals(url.path, url.path_len, "/proxy") || has_prefix(&url, "/proxy/")) return proxy(req, body, &url);
  if (has_prefix(&url, "/status/")) return status(url.path + 8, url.path_len - 8);
  return text(404, "not found\n");
}

int main(void) {
  fastly_status_t result = route();
  if (result != FASTLY_STATUS_OK) outpost_respond_text(500, outpost_status_name(result));
  return 0;
}
