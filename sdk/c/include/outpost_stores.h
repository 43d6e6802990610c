/* outpost_stores.h: log endpoints, config and KV stores, the client's
 * address and geolocation. Included by outpost_helpers.h. */
#ifndef OUTPOST_STORES_H
#define OUTPOST_STORES_H

#include "outpost_helpers.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- logging */

/* Writes one line to a named log endpoint (`outpost serve` prints
 * `endpoint :: message`). */
static inline fastly_status_t outpost_log(const char *endpoint, const char *message) {
  uint32_t h;
  size_t n;
  OUTPOST_TRY(fastly_log_endpoint_get(endpoint, strlen(endpoint), &h));
  return fastly_log_write(h, message, strlen(message), &n);
}

/* ---------------------------------------------------------------- config and KV stores */

typedef struct {
  uint32_t store;
  const char *key;
} outpost_store_ctx_;

static inline fastly_status_t outpost_config_get_(const void *ctx, void *buf, size_t cap, size_t *n) {
  const outpost_store_ctx_ *c = (const outpost_store_ctx_ *)ctx;
  return fastly_config_store_get(c->store, c->key, strlen(c->key), buf, cap, n);
}

/* A config store's value: FASTLY_STATUS_NONE when the key is absent,
 * FASTLY_STATUS_BADF when there is no such store. */
static inline fastly_status_t outpost_config_get(const char *store, const char *key, outpost_bytes *value) {
  outpost_store_ctx_ ctx = {0, key};
  OUTPOST_TRY(fastly_config_store_open(store, strlen(store), &ctx.store));
  return outpost_get_value_(value, 256, outpost_config_get_, &ctx);
}

/* A KV store's value: FASTLY_STATUS_NONE when the key is absent. The
 * metadata is not returned (use the raw calls for it). */
static inline fastly_status_t outpost_kv_get(const char *store, const char *key, outpost_bytes *value) {
  uint32_t h, lookup, body = FASTLY_INVALID_HANDLE, kv_error = 0;
  fastly_kv_lookup_config config = {0};
  OUTPOST_TRY(fastly_kv_store_open(store, strlen(store), &h));
  OUTPOST_TRY(fastly_kv_store_lookup(h, key, strlen(key), 0, &config, &lookup));
  outpost_bytes metadata = OUTPOST_BYTES_INIT;
  size_t want = 0;
  for (;;) {
    size_t n = 0;
    uint64_t generation = 0;
    outpost_bytes_reserve(&metadata, want + 1);
    fastly_status_t status =
        fastly_kv_store_lookup_wait_v2(lookup, &body, metadata.data, want, &n, &generation, &kv_error);
    if (status == FASTLY_STATUS_BUFLEN && n > want) {
      want = n;
      continue;
    }
    outpost_bytes_free(&metadata);
    OUTPOST_TRY(status);
    break;
  }
  if (kv_error == FASTLY_KV_ERROR_NOT_FOUND) return FASTLY_STATUS_NONE;
  if (kv_error != FASTLY_KV_ERROR_OK) return FASTLY_STATUS_ERROR;
  OUTPOST_TRY(outpost_body_read_all(body, value));
  return fastly_http_body_close(body);
}

/* Stores a value under `key`, replacing any. */
static inline fastly_status_t outpost_kv_insert(const char *store, const char *key, const void *data, size_t len) {
  uint32_t h, body, pending, kv_error = 0;
  fastly_kv_insert_config config = {0};
  OUTPOST_TRY(fastly_kv_store_open(store, strlen(store), &h));
  OUTPOST_TRY(fastly_http_body_new(&body));
  OUTPOST_TRY(outpost_body_write(body, data, len));
  OUTPOST_TRY(fastly_kv_store_insert(h, key, strlen(key), body, 0, &config, &pending));
  OUTPOST_TRY(fastly_kv_store_insert_wait(pending, &kv_error));
  return kv_error == FASTLY_KV_ERROR_OK ? FASTLY_STATUS_OK : FASTLY_STATUS_ERROR;
}

/* ---------------------------------------------------------------- client address and geolocation */

/* The client's IP address: 4 or 16 octets. */
static inline fastly_status_t outpost_client_ip(uint32_t req, uint8_t octets[16], size_t *len) {
  return fastly_http_downstream_downstream_client_ip_addr(req, octets, len);
}

typedef struct {
  const uint8_t *octets;
  size_t len;
} outpost_geo_ctx_;

static inline fastly_status_t outpost_geo_get_(const void *ctx, void *buf, size_t cap, size_t *n) {
  const outpost_geo_ctx_ *c = (const outpost_geo_ctx_ *)ctx;
  return fastly_geo_lookup(c->octets, c->len, buf, cap, n);
}

/* Where an address is, as a JSON object (fields such as "country_code",
 * "continent", "city"; read them with outpost_json_string).
 * FASTLY_STATUS_NONE when the address is unknown. */
static inline fastly_status_t outpost_geo_lookup(const uint8_t *octets, size_t len, outpost_bytes *json) {
  outpost_geo_ctx_ ctx = {octets, len};
  return outpost_get_value_(json, 512, outpost_geo_get_, &ctx);
}

#ifdef __cplusplus
}
#endif

#endif /* OUTPOST_STORES_H */
