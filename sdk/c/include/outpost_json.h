/* outpost_json.h: just enough JSON to read the string fields of an object
 * the host returns (geolocation, device detection). Included by
 * outpost_helpers.h. */
#ifndef OUTPOST_JSON_H
#define OUTPOST_JSON_H

#include "outpost_bytes.h"

#ifdef __cplusplus
extern "C" {
#endif

static inline const char *outpost_json_ws_(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* Four hex digits, or -1. */
static inline int32_t outpost_json_hex4_(const char *p, const char *end) {
  if (end - p < 4) return -1;
  int32_t value = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int digit = c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

static inline void outpost_json_utf8_(outpost_bytes *out, uint32_t cp) {
  char utf8[4];
  size_t n = 0;
  if (cp < 0x80) {
    utf8[n++] = (char)cp;
  } else if (cp < 0x800) {
    utf8[n++] = (char)(0xc0 | cp >> 6);
    utf8[n++] = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    utf8[n++] = (char)(0xe0 | cp >> 12);
    utf8[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
    utf8[n++] = (char)(0x80 | (cp & 0x3f));
  } else {
    utf8[n++] = (char)(0xf0 | cp >> 18);
    utf8[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
    utf8[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
    utf8[n++] = (char)(0x80 | (cp & 0x3f));
  }
  outpost_bytes_append(out, utf8, n);
}

/* Past the string starting at `p` (on its opening quote), appending its
 * text to `out` unless NULL. NULL when malformed. */
static inline const char *outpost_json_str_(const char *p, const char *end, outpost_bytes *out) {
  if (p >= end || *p != '"') return NULL;
  for (p++; p < end; p++) {
    char c = *p;
    if (c == '"') return p + 1;
    if (c != '\\') {
      if (out) outpost_bytes_append(out, &c, 1);
      continue;
    }
    if (++p >= end) return NULL;
    static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
    const char *escape = NULL;
    for (size_t i = 0; i < sizeof escapes - 1; i += 2) {
      if (escapes[i] == *p) escape = escapes + i + 1;
    }
    if (escape) {
      if (out) outpost_bytes_append(out, escape, 1);
      continue;
    }
    int32_t cp = *p == 'u' ? outpost_json_hex4_(p + 1, end) : -1;
    if (cp < 0) return NULL;
    p += 4;
    // A UTF-16 surrogate pair: \uD83D\uDE00.
    if (cp >= 0xd800 && cp < 0xdc00 && end - p > 2 && p[1] == '\\' && p[2] == 'u') {
      int32_t low = outpost_json_hex4_(p + 3, end);
      if (low >= 0xdc00 && low < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        p += 6;
      }
    }
    if (out) outpost_json_utf8_(out, (uint32_t)cp);
  }
  return NULL;
}

/* Past the value starting at `p`: a string, a number, a literal, or a
 * nested object or array. NULL when malformed. */
static inline const char *outpost_json_skip_(const char *p, const char *end) {
  int depth = 0;
  do {
    if (p >= end) return NULL;
    char c = *p;
    if (c == '"') {
      p = outpost_json_str_(p, end, NULL);
      if (!p) return NULL;
    } else if (c == '{' || c == '[') {
      depth++, p++;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return NULL;
      depth--, p++;
    } else if (depth == 0) {
      while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') p++;
      return p;
    } else {
      p++;
    }
  } while (depth > 0);
  return p;
}

/* The string value of a top-level field of a JSON object (e.g. the answer of
 * outpost_geo_lookup) into `value`: FASTLY_STATUS_NONE when the field is
 * absent or not a string, FASTLY_STATUS_INVAL when the text is not a JSON
 * object. */
static inline fastly_status_t outpost_json_string(const char *json, size_t len, const char *field,
                                                  outpost_bytes *value) {
  const char *end = json + len;
  const char *p = outpost_json_ws_(json, end);
  outpost_bytes key = OUTPOST_BYTES_INIT;
  fastly_status_t status = FASTLY_STATUS_INVAL;
  outpost_bytes_clear(value);
  if (p >= end || *p++ != '{') return FASTLY_STATUS_INVAL;
  for (;;) {
    p = outpost_json_ws_(p, end);
    if (p < end && *p == '}') {
      status = FASTLY_STATUS_NONE;
      break;
    }
    outpost_bytes_clear(&key);
    p = outpost_json_str_(p, end, &key);
    if (!p) break;
    p = outpost_json_ws_(p, end);
    if (p >= end || *p++ != ':') break;
    p = outpost_json_ws_(p, end);
    if (p < end && *p == '"' && key.len && strcmp(key.data, field) == 0) {
      p = outpost_json_str_(p, end, value);
      status = p ? FASTLY_STATUS_OK : FASTLY_STATUS_INVAL;
      break;
    }
    p = outpost_json_skip_(p, end);
    if (!p) break;
    p = outpost_json_ws_(p, end);
    if (p < end && *p == ',') {
      p++;
    } else {
      if (p < end && *p == '}') status = FASTLY_STATUS_NONE;
      break;
    }
  }
  outpost_bytes_free(&key);
  if (status != FASTLY_STATUS_OK) outpost_bytes_clear(value);
  return status;
}

#ifdef __cplusplus
}
#endif

#endif /* OUTPOST_JSON_H */
