/* json.c — see json.h for the contract. */
#include <string.h>

#include "json.h"

static const char hexd[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when s[0] starts an invalid one. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if (c < 0xE0) return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
  if (c < 0xF0) {
    if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0;  /* overlong */
    if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
    return 3;
  }
  if (c < 0xF5) {
    if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && s[1] < 0x90) return 0;  /* overlong */
    if (c == 0xF4 && s[1] >= 0x90) return 0; /* > U+10FFFF */
    return 4;
  }
  return 0;
}

size_t eg_json_escape(char *out, size_t cap, const char *str, size_t len, int *truncated) {
  const unsigned char *s = (const unsigned char *)str;
  size_t o = 0, i = 0;
  while (i < len) {
    char tmp[8];
    size_t tn = 0, adv = 1;
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      tmp[0] = '\\';
      tmp[1] = (char)c;
      tn = 2;
    } else if (c == '\n') {
      memcpy(tmp, "\\n", 2), tn = 2;
    } else if (c == '\r') {
      memcpy(tmp, "\\r", 2), tn = 2;
    } else if (c == '\t') {
      memcpy(tmp, "\\t", 2), tn = 2;
    } else if (c < 0x20 || c == 0x7f) {
      memcpy(tmp, "\\u00", 4);
      tmp[4] = hexd[c >> 4];
      tmp[5] = hexd[c & 15];
      tn = 6;
    } else if (c < 0x80) {
      tmp[0] = (char)c;
      tn = 1;
    } else {
      size_t ul = utf8_len(s + i, len - i);
      if (ul == 0) {
        memcpy(tmp, "\\ufffd", 6), tn = 6;
      } else if (ul == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
        memcpy(tmp, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6), tn = 6, adv = 3;
      } else {
        memcpy(tmp, s + i, ul), tn = ul, adv = ul;
      }
    }
    if (o + tn > cap) {
      *truncated = 1;
      return o;
    }
    memcpy(out + o, tmp, tn);
    o += tn;
    i += adv;
  }
  return o;
}

void jb_init(struct jbuf *j, char *buf, size_t size) {
  j->b = buf;
  j->cap = size - 2;
  j->n = 0;
  j->fields = 0;
  j->truncated = 0;
  j->b[j->n++] = '{';
}

/* Append `,"key":` (or `"key":` for the first field); 0 when it (plus `extra` bytes) does not fit. */
static int key(struct jbuf *j, const char *k, size_t extra) {
  size_t kl = strlen(k);
  size_t need = (j->fields ? 1 : 0) + kl + 3 + extra;
  if (j->n + need > j->cap) {
    j->truncated = 1;
    return 0;
  }
  if (j->fields) j->b[j->n++] = ',';
  j->b[j->n++] = '"';
  memcpy(j->b + j->n, k, kl);
  j->n += kl;
  j->b[j->n++] = '"';
  j->b[j->n++] = ':';
  j->fields++;
  return 1;
}

void jb_str(struct jbuf *j, const char *k, const char *val, size_t len) {
  if (!key(j, k, 5)) return; /* room for the quotes and a "..." so a truncated value always ends in "..." */
  j->b[j->n++] = '"';
  int tr = 0;
  size_t room = j->cap - j->n - 1; /* keep one byte for the closing quote */
  size_t w = eg_json_escape(j->b + j->n, room, val, len, &tr);
  if (tr) {
    /* back off to leave room for "..." (never splitting an escape: re-escape into the smaller room) */
    tr = 0;
    w = eg_json_escape(j->b + j->n, room >= 3 ? room - 3 : 0, val, len, &tr);
    j->n += w;
    if (j->n + 3 <= j->cap - 1) memcpy(j->b + j->n, "...", 3), j->n += 3;
    j->truncated = 1;
  } else {
    j->n += w;
  }
  j->b[j->n++] = '"';
}

static size_t fmt_u64(char *out, uint64_t v) {
  char t[24];
  size_t n = 0;
  do {
    t[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) out[i] = t[n - 1 - i];
  return n;
}

void jb_u64(struct jbuf *j, const char *k, uint64_t v) {
  char t[24];
  size_t n = fmt_u64(t, v);
  if (!key(j, k, n)) return;
  memcpy(j->b + j->n, t, n);
  j->n += n;
}

void jb_i64(struct jbuf *j, const char *k, int64_t v) {
  char t[24];
  size_t n = 0;
  uint64_t u = (uint64_t)v;
  if (v < 0) {
    t[n++] = '-';
    u = (uint64_t)0 - u;
  }
  n += fmt_u64(t + n, u);
  if (!key(j, k, n)) return;
  memcpy(j->b + j->n, t, n);
  j->n += n;
}

void jb_bool(struct jbuf *j, const char *k, int v) {
  const char *s = v ? "true" : "false";
  size_t n = v ? 4 : 5;
  if (!key(j, k, n)) return;
  memcpy(j->b + j->n, s, n);
  j->n += n;
}

size_t jb_finish(struct jbuf *j) {
  j->b[j->n++] = '}';
  j->b[j->n++] = '\n';
  return j->n;
}
