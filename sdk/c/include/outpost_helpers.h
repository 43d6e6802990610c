/* outpost_helpers.h: a thin layer over outpost.h for the common work of a
 * Compute app in C: the client request, headers, bodies, backends, the
 * response, logs, config and KV stores, geolocation.
 *
 * Header-only: every function is `static inline`, so an app pays only for
 * what it calls. Needs wasi-libc's string functions (memcpy, strlen, ...).
 *
 * Conventions:
 * - Functions that talk to the host return a fastly_status_t:
 *   FASTLY_STATUS_OK, or the host's status. OUTPOST_TRY(call) returns it from
 *   the calling function when it is not OK.
 * - Handles are plain uint32_t (request, response, body).
 * - Values come back in an outpost_bytes, a growable buffer: a getter replaces
 *   its content and keeps a NUL after the last byte, so `b.data` is also a C
 *   string. Free it with outpost_bytes_free (or don't: the instance and all
 *   its memory go away when the request is done).
 * - Running out of memory traps the guest (the client gets a 500).
 * - Lists (header names, header values) are items each followed by a NUL, in
 *   one outpost_bytes; walk them with OUTPOST_EACH.
 */
#ifndef OUTPOST_HELPERS_H
#define OUTPOST_HELPERS_H

#include "outpost_bytes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- headers (requests and responses alike) */

typedef fastly_status_t (*outpost_names_get_fn_)(uint32_t, void *, size_t, uint32_t, int64_t *, size_t *);
typedef fastly_status_t (*outpost_values_get_fn_)(uint32_t, const void *, size_t, void *, size_t, uint32_t,
                                                  int64_t *, size_t *);
typedef fastly_status_t (*outpost_header_set_fn_)(uint32_t, const void *, size_t, const void *, size_t);
typedef fastly_status_t (*outpost_header_remove_fn_)(uint32_t, const void *, size_t);

typedef struct {
  uint32_t handle;
  const char *name;
  outpost_names_get_fn_ names;
  outpost_values_get_fn_ values;
} outpost_header_ctx_;

static inline fastly_status_t outpost_names_at_(const void *ctx, void *buf, size_t cap, uint32_t cursor,
                                                int64_t *ending, size_t *n) {
  const outpost_header_ctx_ *c = (const outpost_header_ctx_ *)ctx;
  return c->names(c->handle, buf, cap, cursor, ending, n);
}

static inline fastly_status_t outpost_values_at_(const void *ctx, void *buf, size_t cap, uint32_t cursor,
                                                 int64_t *ending, size_t *n) {
  const outpost_header_ctx_ *c = (const outpost_header_ctx_ *)ctx;
  return c->values(c->handle, c->name, strlen(c->name), buf, cap, cursor, ending, n);
}

static inline fastly_status_t outpost_header_names_(outpost_names_get_fn_ fn, uint32_t h, outpost_bytes *out) {
  outpost_header_ctx_ ctx = {h, NULL, fn, NULL};
  return outpost_get_list_(out, 128, outpost_names_at_, &ctx);
}

static inline fastly_status_t outpost_header_values_(outpost_values_get_fn_ fn, uint32_t h, const char *name,
                                                     outpost_bytes *out) {
  outpost_header_ctx_ ctx = {h, name, NULL, fn};
  return outpost_get_list_(out, 128, outpost_values_at_, &ctx);
}

/* The first value: FASTLY_STATUS_NONE when the header is absent. */
static inline fastly_status_t outpost_header_(outpost_values_get_fn_ fn, uint32_t h, const char *name,
                                              outpost_bytes *out) {
  OUTPOST_TRY(outpost_header_values_(fn, h, name, out));
  if (out->len == 0) return FASTLY_STATUS_NONE;
  out->len = strlen(out->data);
  return FASTLY_STATUS_OK;
}

static inline fastly_status_t outpost_header_set_(outpost_header_set_fn_ fn, uint32_t h, const char *name,
                                                  const char *value) {
  return fn(h, name, strlen(name), value, strlen(value));
}

/* Requests. Names are case-insensitive; the host reports them in lower case. */
static inline fastly_status_t outpost_req_header(uint32_t req, const char *name, outpost_bytes *value) {
  return outpost_header_(fastly_http_req_header_values_get, req, name, value);
}
static inline fastly_status_t outpost_req_header_values(uint32_t req, const char *name, outpost_bytes *values) {
  return outpost_header_values_(fastly_http_req_header_values_get, req, name, values);
}
static inline fastly_status_t outpost_req_header_names(uint32_t req, outpost_bytes *names) {
  return outpost_header_names_(fastly_http_req_header_names_get, req, names);
}
/* Replaces every value of the header. */
static inline fastly_status_t outpost_req_header_set(uint32_t req, const char *name, const char *value) {
  return outpost_header_set_(fastly_http_req_header_insert, req, name, value);
}
static inline fastly_status_t outpost_req_header_append(uint32_t req, const char *name, const char *value) {
  return outpost_header_set_(fastly_http_req_header_append, req, name, value);
}
/* FASTLY_STATUS_INVAL when the header was not there. */
static inline fastly_status_t outpost_req_header_remove(uint32_t req, const char *name) {
  return fastly_http_req_header_remove(req, name, strlen(name));
}

/* Responses: the same, on a response handle. */
static inline fastly_status_t outpost_resp_header(uint32_t resp, const char *name, outpost_bytes *value) {
  return outpost_header_(fastly_http_resp_header_values_get, resp, name, value);
}
static inline fastly_status_t outpost_resp_header_values(uint32_t resp, const char *name, outpost_bytes *values) {
  return outpost_header_values_(fastly_http_resp_header_values_get, resp, name, values);
}
static inline fastly_status_t outpost_resp_header_names(uint32_t resp, outpost_bytes *names) {
  return outpost_header_names_(fastly_http_resp_header_names_get, resp, names);
}
static inline fastly_status_t outpost_resp_header_set(uint32_t resp, const char *name, const char *value) {
  return outpost_header_set_(fastly_http_resp_header_insert, resp, name, value);
}
static inline fastly_status_t outpost_resp_header_append(uint32_t resp, const char *name, const char *value) {
  return outpost_header_set_(fastly_http_resp_header_append, resp, name, value);
}
static inline fastly_status_t outpost_resp_header_remove(uint32_t resp, const char *name) {
  return fastly_http_resp_header_remove(resp, name, strlen(name));
}

/* ---------------------------------------------------------------- requests */

/* The client's request and its body. */
static inline fastly_status_t outpost_client_request(uint32_t *req, uint32_t *body) {
  return fastly_http_req_body_downstream_get(req, body);
}

/* A new request: GET, no headers; set its URI before sending it. */
static inline fastly_status_t outpost_req_new(uint32_t *req) { return fastly_http_req_new(req); }

static inline fastly_status_t outpost_req_method_get_(const void *ctx, void *buf, size_t cap, size_t *n) {
  return fastly_http_req_method_get(*(const uint32_t *)ctx, buf, cap, n);
}
static inline fastly_status_t outpost_req_method(uint32_t req, outpost_bytes *method) {
  return outpost_get_value_(method, 16, outpost_req_method_get_, &req);
}
static inline fastly_status_t outpost_req_method_set(uint32_t req, const char *method) {
  return fastly_http_req_method_set(req, method, strlen(method));
}

static inline fastly_status_t outpost_req_uri_get_(const void *ctx, void *buf, size_t cap, size_t *n) {
  return fastly_http_req_uri_get(*(const uint32_t *)ctx, buf, cap, n);
}
/* The absolute URI, e.g. "http://example.com/a/b?q=1". */
static inline fastly_status_t outpost_req_uri(uint32_t req, outpost_bytes *uri) {
  return outpost_get_value_(uri, 256, outpost_req_uri_get_, &req);
}
static inline fastly_status_t outpost_req_uri_set(uint32_t req, const char *uri, size_t len) {
  return fastly_http_req_uri_set(req, uri, len);
}

/* The parts of a URI, pointing into it. */
typedef struct outpost_url {
  const char *origin; /* "http://example.com:8080", empty for a relative URI */
  size_t origin_len;
  const char *path; /* "/a/b", at least "/" */
  size_t path_len;
  const char *query; /* "?q=1" with its '?', or empty */
  size_t query_len;
} outpost_url;

static inline void outpost_url_parse(const char *uri, size_t len, outpost_url *url) {
  const char *end = uri + len;
  const char *rest = uri;
  for (const char *p = uri; p + 2 < end; p++) {
    if (*p == '/' || *p == '?') break;
    if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
      rest = p + 3;
      while (rest < end && *rest != '/' && *rest != '?' && *rest != '#') rest++;
      break;
    }
  }
  url->origin = uri;
  url->origin_len = (size_t)(rest - uri);
  const char *q = rest;
  while (q < end && *q != '?' && *q != '#') q++;
  if (q == rest) {
    url->path = "/";
    url->path_len = 1;
  } else {
    url->path = rest;
    url->path_len = (size_t)(q - rest);
  }
  const char *f = q;
  while (f < end && *f != '#') f++;
  url->query = q;
  url->query_len = (size_t)(f - q);
}

static inline int outpost_hex_(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if ((c | 32) >= 'a' && (c | 32) <= 'f') return (c | 32) - 'a' + 10;
  return -1;
}

/* The value of a query parameter, percent-decoded ('+' is a space):
 * FASTLY_STATUS_NONE when the query does not have it. */
static inline fastly_status_t outpost_query_param(const outpost_url *url, const char *name, outpost_bytes *value) {
  const char *p = url->query_len ? url->query + 1 : url->query;
  const char *end = url->query + url->query_len;
  size_t name_len = strlen(name);
  outpost_bytes_clear(value);
  while (p < end) {
    const char *amp = p;
    while (amp < end && *amp != '&') amp++;
    const char *eq = p;
    while (eq < amp && *eq != '=') eq++;
    if ((size_t)(eq - p) == name_len && memcmp(p, name, name_len) == 0) {
      for (const char *v = eq < amp ? eq + 1 : amp; v < amp; v++) {
        char c = *v;
        if (c == '+') c = ' ';
        if (c == '%' && amp - v > 2 && outpost_hex_(v[1]) >= 0 && outpost_hex_(v[2]) >= 0) {
          c = (char)(outpost_hex_(v[1]) * 16 + outpost_hex_(v[2]));
          v += 2;
        }
        outpost_bytes_append(value, &c, 1);
      }
      outpost_bytes_terminate_(value);
      return FASTLY_STATUS_OK;
    }
    p = amp + 1;
  }
  return FASTLY_STATUS_NONE;
}

/* Whether `len` bytes at `text` are exactly the C string `literal`. */
static inline int outpost_equals(const char *text, size_t len, const char *literal) {
  return strlen(literal) == len && memcmp(text, literal, len) == 0;
}

/* Cache override for a request sent to a backend: `tag` is a combination of
 * FASTLY_CACHE_OVERRIDE_TAG_* (PASS, TTL, STALE_WHILE_REVALIDATE, PCI), `ttl`
 * and `swr` are seconds (read when their bit is set), `surrogate_key` may be
 * NULL. */
static inline fastly_status_t outpost_req_cache_override(uint32_t req, uint32_t tag, uint32_t ttl, uint32_t swr,
                                                         const char *surrogate_key) {
  const char *key = surrogate_key ? surrogate_key : "";
  return fastly_http_req_cache_override_v2_set(req, tag, ttl, swr, key, strlen(key));
}

/* Sends a request and its body (both consumed) to the named backend; waits
 * for the response's headers. Through the host's HTTP cache, as on the
 * platform. */
static inline fastly_status_t outpost_send(uint32_t req, uint32_t body, const char *backend, uint32_t *resp,
                                           uint32_t *resp_body) {
  return fastly_http_req_send(req, body, backend, strlen(backend), resp, resp_body);
}

/* Starts sending; wait with outpost_pending_wait. */
static inline fastly_status_t outpost_send_async(uint32_t req, uint32_t body, const char *backend, uint32_t *pending) {
  return fastly_http_req_send_async(req, body, backend, strlen(backend), pending);
}

static inline fastly_status_t outpost_pending_wait(uint32_t pending, uint32_t *resp, uint32_t *resp_body) {
  return fastly_http_req_pending_req_wait(pending, resp, resp_body);
}

/* ---------------------------------------------------------------- bodies */

static inline fastly_status_t outpost_body_new(uint32_t *body) { return fastly_http_body_new(body); }

/* Reads the body to its end into `out` (replacing its content). */
static inline fastly_status_t outpost_body_read_all(uint32_t body, outpost_bytes *out) {
  out->len = 0;
  for (;;) {
    outpost_bytes_reserve(out, out->len + 4096 + 1);
    size_t n = 0;
    fastly_status_t status = fastly_http_body_read(body, out->data + out->len, out->cap - out->len - 1, &n);
    if (status != FASTLY_STATUS_OK) {
      outpost_bytes_terminate_(out);
      return status;
    }
    if (n == 0) break;
    out->len += n;
  }
  outpost_bytes_terminate_(out);
  return FASTLY_STATUS_OK;
}

/* Appends all of `data` to the body. */
static inline fastly_status_t outpost_body_write(uint32_t body, const void *data, size_t len) {
  const char *p = (const char *)data;
  while (len > 0) {
    size_t n = 0;
    OUTPOST_TRY(fastly_http_body_write(body, p, len, FASTLY_BODY_WRITE_END_BACK, &n));
    if (n == 0 || n > len) return FASTLY_STATUS_ERROR;
    p += n;
    len -= n;
  }
  return FASTLY_STATUS_OK;
}

static inline fastly_status_t outpost_body_write_str(uint32_t body, const char *text) {
  return outpost_body_write(body, text, strlen(text));
}

/* Ends a body: a streaming one is finished successfully. */
static inline fastly_status_t outpost_body_close(uint32_t body) { return fastly_http_body_close(body); }

/* ---------------------------------------------------------------- responses */

/* A new response: 200, no headers. */
static inline fastly_status_t outpost_resp_new(uint32_t *resp) { return fastly_http_resp_new(resp); }

static inline fastly_status_t outpost_resp_status_set(uint32_t resp, uint16_t status) {
  return fastly_http_resp_status_set(resp, status);
}

static inline fastly_status_t outpost_resp_status(uint32_t resp, uint16_t *status) {
  return fastly_http_resp_status_get(resp, status);
}

/* Sends the response and its whole body to the client (both consumed). */
static inline fastly_status_t outpost_resp_send(uint32_t resp, uint32_t body) {
  return fastly_http_resp_send_downstream(resp, body, 0);
}

/* Sends the response's headers now; keep writing to `body` and finish with
 * outpost_body_close. */
static inline fastly_status_t outpost_resp_stream(uint32_t resp, uint32_t body) {
  return fastly_http_resp_send_downstream(resp, body, 1);
}

/* A complete response in one call; `content_type` may be NULL. */
static inline fastly_status_t outpost_respond(uint16_t status, const char *content_type, const void *data,
                                              size_t len) {
  uint32_t resp, body;
  OUTPOST_TRY(fastly_http_resp_new(&resp));
  OUTPOST_TRY(fastly_http_resp_status_set(resp, status));
  if (content_type) OUTPOST_TRY(outpost_resp_header_set(resp, "content-type", content_type));
  OUTPOST_TRY(fastly_http_body_new(&body));
  OUTPOST_TRY(outpost_body_write(body, data, len));
  return fastly_http_resp_send_downstream(resp, body, 0);
}

/* A complete text/plain response. */
static inline fastly_status_t outpost_respond_text(uint16_t status, const char *text) {
  return outpost_respond(status, "text/plain; charset=utf-8", text, strlen(text));
}

#ifdef __cplusplus
}
#endif

#include "outpost_stores.h"
#include "outpost_json.h"

#endif /* OUTPOST_HELPERS_H */
