/* outpost_bytes.h: the growable buffer the helpers return values in, the
 * status helpers, and the host-call retry loops (ABI-SUMMARY §4.2, §4.3).
 * Included by outpost_helpers.h. */
#ifndef OUTPOST_BYTES_H
#define OUTPOST_BYTES_H

#include <stdlib.h>
#include <string.h>

#include "outpost.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the status of `call` from the calling function unless it is OK. */
#define OUTPOST_TRY(call)                                             \
  do {                                                                \
    fastly_status_t outpost_status_ = (call);                         \
    if (outpost_status_ != FASTLY_STATUS_OK) return outpost_status_; \
  } while (0)

/* The name of a status ("ok", "inval", ...), for messages. */
static inline const char *outpost_status_name(fastly_status_t status) {
  static const char *const names[] = {
      "ok",          "error",    "inval",          "badf",       "buflen",
      "unsupported", "badalign", "httpinvalid",    "httpuser",   "httpincomplete",
      "none",        "httpheadtoolarge", "httpinvalidstatus", "limitexceeded", "again",
  };
  return status < sizeof names / sizeof names[0] ? names[status] : "unknown";
}

/* ---------------------------------------------------------------- bytes */

typedef struct outpost_bytes {
  char *data;
  size_t len;
  size_t cap;
} outpost_bytes;

#define OUTPOST_BYTES_INIT {0, 0, 0}

/* Memory for outpost_bytes. By default a bump allocator over memory.grow:
 * an instance lives for one request, so memory is never handed back, and
 * the app does not carry malloc (about 6 KB). It takes fresh pages from the
 * host and so coexists with malloc if the app uses both. Define
 * OUTPOST_USE_MALLOC before including this header to use realloc/free. */
#ifdef OUTPOST_USE_MALLOC
static inline void *outpost_realloc_(void *old, size_t old_cap, size_t cap) {
  (void)old_cap;
  void *data = realloc(old, cap);
  if (!data) __builtin_trap();
  return data;
}
static inline void outpost_free_(void *data, size_t cap) {
  (void)cap;
  free(data);
}
#else
static char *outpost_heap_next_, *outpost_heap_end_;

static inline void *outpost_realloc_(void *old, size_t old_cap, size_t cap) {
  char *block = (char *)old;
  int last = block && block + old_cap == outpost_heap_next_; /* grows in place */
  cap = (cap + 7) & ~(size_t)7;
  for (;;) {
    if (last && (size_t)(outpost_heap_end_ - block) >= cap) {
      outpost_heap_next_ = block + cap;
      return block;
    }
    if (!last && (size_t)(outpost_heap_end_ - outpost_heap_next_) >= cap) {
      char *fresh = outpost_heap_next_;
      outpost_heap_next_ += cap;
      if (old_cap) memcpy(fresh, old, old_cap);
      return fresh;
    }
    size_t pages = (cap >> 16) + 1;
    size_t at = __builtin_wasm_memory_grow(0, pages);
    if (at == (size_t)-1) __builtin_trap();
    char *base = (char *)(at << 16);
    if (base != outpost_heap_end_) { /* someone else grew the memory meanwhile */
      outpost_heap_next_ = base;
      last = 0;
    }
    outpost_heap_end_ = base + (pages << 16);
  }
}

static inline void outpost_free_(void *data, size_t cap) {
  if (data && (char *)data + cap == outpost_heap_next_) outpost_heap_next_ = (char *)data;
}
#endif

/* Makes room for `cap` bytes in total. */
static inline void outpost_bytes_reserve(outpost_bytes *b, size_t cap) {
  if (cap <= b->cap) return;
  size_t grown = b->cap * 2 > cap ? b->cap * 2 : cap;
  grown = (grown + 7) & ~(size_t)7;
  b->data = (char *)outpost_realloc_(b->data, b->cap, grown);
  b->cap = grown;
}

/* Keeps a NUL after the content (not counted in len). */
static inline void outpost_bytes_terminate_(outpost_bytes *b) {
  outpost_bytes_reserve(b, b->len + 1);
  b->data[b->len] = '\0';
}

static inline void outpost_bytes_append(outpost_bytes *b, const void *data, size_t len) {
  outpost_bytes_reserve(b, b->len + len + 1);
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

static inline void outpost_bytes_append_str(outpost_bytes *b, const char *text) {
  outpost_bytes_append(b, text, strlen(text));
}

/* Appends `n` in decimal. */
static inline void outpost_bytes_append_u64(outpost_bytes *b, uint64_t n) {
  char digits[20];
  size_t i = sizeof digits;
  do {
    digits[--i] = (char)('0' + n % 10);
    n /= 10;
  } while (n);
  outpost_bytes_append(b, digits + i, sizeof digits - i);
}

static inline void outpost_bytes_clear(outpost_bytes *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

static inline void outpost_bytes_free(outpost_bytes *b) {
  outpost_free_(b->data, b->cap);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* The item after `item` in a list of NUL-terminated items, or NULL. */
static inline const char *outpost_list_next(const outpost_bytes *list, const char *item) {
  const char *next = item + strlen(item) + 1;
  return next < list->data + list->len ? next : NULL;
}

/* for each NUL-terminated item of an outpost_bytes list */
#define OUTPOST_EACH(item, list) \
  for (const char *item = (list)->len ? (list)->data : NULL; item; item = outpost_list_next((list), item))

/* ---------------------------------------------------------------- host getters */

/* A single-value getter (ABI-SUMMARY §4.2): asks with `initial` bytes, and
 * again with the length the host reports when that is too small. */
typedef fastly_status_t (*outpost_value_getter_)(const void *ctx, void *buf, size_t cap, size_t *nwritten);

static inline fastly_status_t outpost_get_value_(outpost_bytes *out, size_t initial, outpost_value_getter_ get,
                                                 const void *ctx) {
  size_t want = initial;
  out->len = 0;
  for (;;) {
    outpost_bytes_reserve(out, want + 1);
    size_t n = 0;
    fastly_status_t status = get(ctx, out->data, out->cap - 1, &n);
    if (status == FASTLY_STATUS_BUFLEN) {
      want = n > out->cap - 1 ? n : out->cap * 2;
      continue;
    }
    if (status == FASTLY_STATUS_OK) out->len = n;
    outpost_bytes_terminate_(out);
    return status;
  }
}

/* A multi-value getter (ABI-SUMMARY §4.3): items from the cursor on, until
 * the host says there are no more. */
typedef fastly_status_t (*outpost_list_getter_)(const void *ctx, void *buf, size_t cap, uint32_t cursor,
                                                int64_t *ending, size_t *nwritten);

static inline fastly_status_t outpost_get_list_(outpost_bytes *out, size_t initial, outpost_list_getter_ get,
                                                const void *ctx) {
  size_t want = initial;
  uint32_t cursor = 0;
  out->len = 0;
  for (;;) {
    outpost_bytes_reserve(out, out->len + want + 1);
    size_t room = out->cap - out->len - 1;
    int64_t ending = -1;
    size_t n = 0;
    fastly_status_t status = get(ctx, out->data + out->len, room, cursor, &ending, &n);
    if (status == FASTLY_STATUS_BUFLEN || (status == FASTLY_STATUS_OK && n == 0 && ending >= 0)) {
      want = n > room ? n : room * 2;
      continue;
    }
    if (status != FASTLY_STATUS_OK) {
      out->len = 0;
      outpost_bytes_terminate_(out);
      return status;
    }
    out->len += n;
    if (ending < 0) break;
    cursor = (uint32_t)ending;
  }
  outpost_bytes_terminate_(out);
  return FASTLY_STATUS_OK;
}

#ifdef __cplusplus
}
#endif

#endif /* OUTPOST_BYTES_H */
