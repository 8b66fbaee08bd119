/*
 * http.c — heads and bodies for the Runtime API relay (contract in http.h).
 */
#define _GNU_SOURCE
#include "http.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int conn_init(struct conn *c, int fd) {
  c->fd = fd;
  c->off = c->len = 0;
  c->buf = malloc(HTTP_BUF);
  return c->buf ? 0 : -1;
}

void conn_free(struct conn *c) {
  free(c->buf);
  c->buf = NULL;
}

/* Reads more into the buffer (compacting it first). Returns bytes read, 0 on EOF, -1 on error. */
static ssize_t fill(struct conn *c) {
  if (c->off > 0 && c->len > 0) memmove(c->buf, c->buf + c->off, c->len);
  c->off = 0;
  if (c->len == HTTP_BUF) return -1;
  for (;;) {
    ssize_t n = read(c->fd, c->buf + c->len, HTTP_BUF - c->len);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) c->len += (size_t)n;
    return n;
  }
}

int http_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int lower_eq(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  return alen == blen && strncasecmp(a, b, blen) == 0;
}

/* 1 when the comma list `v` holds the token `tok` (case-insensitive). */
static int has_token(const char *v, size_t len, const char *tok) {
  size_t tl = strlen(tok);
  const char *p = v, *end = v + len;
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) p++;
    const char *s = p;
    while (p < end && *p != ',' && *p != ';') p++;
    const char *e = p;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if ((size_t)(e - s) == tl && strncasecmp(s, tok, tl) == 0) return 1;
    while (p < end && *p != ',') p++;
  }
  return 0;
}

static int parse_start(struct http_msg *m, const char *s, size_t len) {
  const char *end = s + len;
  if (m->is_request) {
    const char *sp1 = memchr(s, ' ', len);
    if (!sp1 || sp1 == s || (size_t)(sp1 - s) >= sizeof m->method) return -2;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
    if (!sp2 || sp2 == sp1 + 1 || (size_t)(sp2 - sp1 - 1) >= sizeof m->path) return -2;
    memcpy(m->method, s, (size_t)(sp1 - s));
    m->method[sp1 - s] = '\0';
    memcpy(m->path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    m->path[sp2 - sp1 - 1] = '\0';
    s = sp2 + 1;
    if (end - s != 8 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9') return -2;
    m->minor = s[7] - '0';
    return 0;
  }
  if (len < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ') return -2;
  m->minor = s[7] - '0';
  int st = 0;
  for (int i = 9; i < 12; i++) {
    if (s[i] < '0' || s[i] > '9') return -2;
    st = st * 10 + (s[i] - '0');
  }
  if (len > 12 && s[12] != ' ') return -2;
  m->status = st;
  return 0;
}

static int parse_head(struct http_msg *m) {
  const char *h = m->head;
  size_t n = m->head_len - 2; /* the final CRLF ends the header block */
  const char *eol = memmem(h, n, "\r\n", 2);
  if (eol == NULL) return -2;
  if (parse_start(m, h, (size_t)(eol - h)) != 0) return -2;
  int keep_alive = 0;
  const char *p = eol + 2, *end = h + n;
  while (p < end) {
    const char *le = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (le == NULL) return -2;
    if (*p == ' ' || *p == '\t') return -2; /* obsolete line folding */
    const char *colon = memchr(p, ':', (size_t)(le - p));
    if (colon == NULL || colon == p || m->n_fields >= HTTP_MAX_HEADERS) return -2;
    for (const char *c = p; c < colon; c++)
      if (*c == ' ' || *c == '\t') return -2;
    const char *v = colon + 1;
    while (v < le && (*v == ' ' || *v == '\t')) v++;
    const char *ve = le;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
    struct http_field *f = &m->f[m->n_fields++];
    f->name = (uint32_t)(p - h);
    f->name_len = (uint32_t)(colon - p);
    f->value = (uint32_t)(v - h);
    f->value_len = (uint32_t)(ve - v);
    size_t nl = (size_t)(colon - p), vl = (size_t)(ve - v);
    if (lower_eq(p, nl, "content-length")) {
      if (vl == 0 || vl > 18) return -2;
      int64_t cl = 0;
      for (size_t i = 0; i < vl; i++) {
        if (v[i] < '0' || v[i] > '9') return -2;
        cl = cl * 10 + (v[i] - '0');
      }
      if (m->content_length >= 0 && m->content_length != cl) return -2;
      m->content_length = cl;
    } else if (lower_eq(p, nl, "transfer-encoding")) {
      if (has_token(v, vl, "chunked")) m->chunked = 1;
      else return -2; /* another coding: not something the Runtime API speaks */
    } else if (lower_eq(p, nl, "connection")) {
      if (has_token(v, vl, "close")) m->close = 1;
      if (has_token(v, vl, "keep-alive")) keep_alive = 1;
    } else if (lower_eq(p, nl, "expect")) {
      if (has_token(v, vl, "100-continue")) m->expect_continue = 1;
    }
    p = le + 2;
  }
  if (m->minor == 0 && !keep_alive) m->close = 1;
  if (m->chunked) m->content_length = -1;
  return 0;
}

int http_read_head(struct conn *c, struct http_msg *m, int is_request) {
  m->head_len = 0;
  m->is_request = is_request;
  m->method[0] = m->path[0] = '\0';
  m->status = 0;
  m->minor = 1;
  m->content_length = -1;
  m->chunked = m->close = m->expect_continue = 0;
  m->n_fields = 0;
  size_t scanned = 0;
  for (;;) {
    /* tolerate blank lines before a request (RFC 9112 §2.2) */
    while (is_request && c->len >= 2 && scanned == 0 && c->buf[c->off] == '\r' && c->buf[c->off + 1] == '\n') {
      c->off += 2;
      c->len -= 2;
    }
    const char *start = c->buf + c->off;
    size_t from = scanned > 3 ? scanned - 3 : 0;
    const char *e = c->len > from ? memmem(start + from, c->len - from, "\r\n\r\n", 4) : NULL;
    if (e != NULL) {
      size_t hl = (size_t)(e - start) + 4;
      if (hl > HTTP_HEAD_MAX) return -2;
      memcpy(m->head, start, hl);
      m->head_len = hl;
      c->off += hl;
      c->len -= hl;
      return parse_head(m);
    }
    scanned = c->len;
    if (c->len >= HTTP_HEAD_MAX) return -2;
    size_t had = c->len;
    ssize_t n = fill(c);
    if (n == 0) return had == 0 ? 1 : -1;
    if (n < 0) return -1;
  }
}

const char *http_header(const struct http_msg *m, const char *name, size_t *len) {
  for (int i = 0; i < m->n_fields; i++) {
    const struct http_field *f = &m->f[i];
    if (lower_eq(m->head + f->name, f->name_len, name)) {
      *len = f->value_len;
      return m->head + f->value;
    }
  }
  return NULL;
}

int http_no_body(const struct http_msg *m) {
  if (m->is_request) return 0;
  return (m->status >= 100 && m->status < 200) || m->status == 204 || m->status == 304;
}

int http_write_head(int fd, const struct http_msg *m, int drop_expect) {
  if (!drop_expect || !m->expect_continue) return http_write_all(fd, m->head, m->head_len);
  /* copy the head without its Expect line(s) */
  char *out = malloc(m->head_len);
  if (out == NULL) return -1;
  const char *first_eol = memmem(m->head, m->head_len, "\r\n", 2);
  size_t n = (size_t)(first_eol - m->head) + 2;
  memcpy(out, m->head, n);
  for (int i = 0; i < m->n_fields; i++) {
    const struct http_field *f = &m->f[i];
    const char *line = m->head + f->name;
    const char *le = memmem(line, m->head_len - f->name, "\r\n", 2);
    size_t ll = (size_t)(le - line) + 2;
    if (lower_eq(line, f->name_len, "expect")) continue;
    memcpy(out + n, line, ll);
    n += ll;
  }
  memcpy(out + n, "\r\n", 2);
  n += 2;
  int rc = http_write_all(fd, out, n);
  free(out);
  return rc;
}

/* Waits until `in` has data or the watch fires. Returns 0 data (or EOF) pending, 1 abort requested, -1 error. */
static int wait_input(struct conn *in, struct http_watch *w) {
  if (w == NULL || w->aborted || in->len > 0) return 0;
  struct pollfd p[2] = {{in->fd, POLLIN, 0}, {w->fd, POLLIN, 0}};
  for (;;) {
    int r = poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if ((p[1].revents & POLLIN) && w->should_abort(w->ctx, 0)) return 1;
    if (p[0].revents) return 0;
    p[1].events = 0; /* woken for nothing: stop polling the watch until the next read */
  }
}

static int write_abort(int out, struct http_watch *w) {
  w->aborted = 1;
  if (out < 0) return 0;
  if (http_write_all(out, "0\r\n", 3) != 0) return -1;
  if (w->trailers && http_write_all(out, w->trailers, strlen(w->trailers)) != 0) return -1;
  return http_write_all(out, "\r\n", 2);
}

/* Ensures at least one unread byte (1), or EOF (0) / error (-1). Handles the watch. */
static int need(struct conn *in, int *out, struct http_watch *w) {
  if (in->len > 0) return 1;
  int wr = wait_input(in, w);
  if (wr < 0) return -1;
  if (wr == 1) {
    if (write_abort(*out, w) != 0) return -1;
    *out = -1; /* the rest of the input is discarded */
  }
  ssize_t n = fill(in);
  return n > 0 ? 1 : n == 0 ? 0 : -1;
}

/* Reads one CRLF-terminated line into line (without CRLF). Returns its length or -1. */
static ssize_t read_line(struct conn *in, int *out, struct http_watch *w, char *line, size_t cap) {
  for (;;) {
    const char *s = in->buf + in->off;
    const char *e = in->len ? memmem(s, in->len, "\r\n", 2) : NULL;
    if (e) {
      size_t l = (size_t)(e - s);
      if (l >= cap) return -1;
      memcpy(line, s, l);
      line[l] = '\0';
      in->off += l + 2;
      in->len -= l + 2;
      return (ssize_t)l;
    }
    if (in->len >= cap) return -1;
    if (in->len > 0) {
      /* a partial line is buffered: read more without the watch (the sender is mid-line) */
      ssize_t n = fill(in);
      if (n <= 0) return -1;
      continue;
    }
    if (need(in, out, w) != 1) return -1;
  }
}

/* Copies exactly n bytes (as chunk data when as_chunk). */
static int copy_bytes(struct conn *in, int *out, uint64_t n, int as_chunk, struct http_watch *w) {
  while (n > 0) {
    int r = need(in, out, w);
    if (r != 1) return -1;
    size_t k = in->len < n ? in->len : (size_t)n;
    if (*out >= 0) {
      if (as_chunk) {
        char hdr[24];
        int hl = 0;
        char d[20];
        int dn = 0;
        size_t v = k;
        do d[dn++] = "0123456789abcdef"[v & 15], v >>= 4;
        while (v);
        while (dn) hdr[hl++] = d[--dn];
        hdr[hl++] = '\r';
        hdr[hl++] = '\n';
        if (http_write_all(*out, hdr, (size_t)hl) != 0 || http_write_all(*out, in->buf + in->off, k) != 0 ||
            http_write_all(*out, "\r\n", 2) != 0)
          return -1;
      } else if (http_write_all(*out, in->buf + in->off, k) != 0) {
        return -1;
      }
    }
    in->off += k;
    in->len -= k;
    n -= k;
  }
  return 0;
}

static int relay_chunked(struct conn *in, int out, struct http_watch *w) {
  char line[1024];
  for (;;) {
    ssize_t l = read_line(in, &out, w, line, sizeof line);
    if (l <= 0) return -1;
    uint64_t size = 0;
    int digits = 0;
    for (ssize_t i = 0; i < l; i++) {
      char ch = line[i];
      int v = ch >= '0' && ch <= '9'   ? ch - '0'
              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                       : -1;
      if (v < 0) {
        if (ch == ';' || ch == ' ' || ch == '\t') break; /* chunk extensions are dropped */
        return -1;
      }
      if (++digits > 15) return -1;
      size = size * 16 + (uint64_t)v;
    }
    if (digits == 0) return -1;
    if (size == 0) {
      if (w != NULL && !w->aborted && out >= 0 && w->should_abort(w->ctx, 1)) {
        if (write_abort(out, w) != 0) return -1;
        out = -1;
      }
      break;
    }
    if (copy_bytes(in, &out, size, 1, w) != 0) return -1;
    if (read_line(in, &out, w, line, sizeof line) != 0) return -1;
  }
  /* the last chunk: trailers up to an empty line */
  if (out >= 0 && http_write_all(out, "0\r\n", 3) != 0) return -1;
  for (;;) {
    ssize_t l = read_line(in, &out, NULL, line, sizeof line);
    if (l < 0) return -1;
    if (out >= 0) {
      if (l > 0 && (http_write_all(out, line, (size_t)l) != 0 || http_write_all(out, "\r\n", 2) != 0)) return -1;
      if (l == 0 && http_write_all(out, "\r\n", 2) != 0) return -1;
    }
    if (l == 0) return 0;
  }
}

int http_relay_body(struct conn *in, int out, const struct http_msg *m, int read_to_eof, struct http_watch *watch) {
  if (http_no_body(m)) return 0;
  if (m->chunked) return relay_chunked(in, out, watch);
  if (m->content_length >= 0) return copy_bytes(in, &out, (uint64_t)m->content_length, 0, NULL);
  if (!read_to_eof) return 0; /* a request without a body */
  for (;;) {
    if (in->len > 0) {
      if (out >= 0 && http_write_all(out, in->buf + in->off, in->len) != 0) return -1;
      in->off = in->len = 0;
    }
    ssize_t n = fill(in);
    if (n == 0) return 0;
    if (n < 0) return -1;
  }
}

/* The length of a whole chunked body (chunks, the last chunk, trailers, the final CRLF) at the start of p[0, n), or 0
 * when it does not all lie there or is malformed (the piecewise relay then decides). */
static size_t chunked_length(const char *p, size_t n) {
  size_t at = 0;
  for (;;) {
    const char *eol = memmem(p + at, n - at, "\r\n", 2);
    if (eol == NULL) return 0;
    uint64_t size = 0;
    int digits = 0;
    for (const char *c = p + at; c < eol; c++) {
      int v = *c >= '0' && *c <= '9'   ? *c - '0'
              : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10
              : *c >= 'A' && *c <= 'F' ? *c - 'A' + 10
                                       : -1;
      if (v < 0) {
        if (*c == ';' || *c == ' ' || *c == '\t') break; /* an extension: passed on as sent */
        return 0;
      }
      if (++digits > 15) return 0;
      size = size * 16 + (uint64_t)v;
    }
    if (digits == 0) return 0;
    at = (size_t)(eol - p) + 2;
    if (size == 0) break;
    if (size > n - at || n - at - size < 2 || memcmp(p + at + size, "\r\n", 2) != 0) return 0;
    at += size + 2;
  }
  for (;;) { /* trailers up to an empty line */
    const char *eol = memmem(p + at, n - at, "\r\n", 2);
    if (eol == NULL) return 0;
    size_t l = (size_t)(eol - (p + at));
    at += l + 2;
    if (l == 0) return at;
  }
}

int http_write_head_body(int fd, const struct http_msg *m, int drop_expect, struct conn *in) {
  size_t body = 0;
  if (!(drop_expect && m->expect_continue) && !http_no_body(m)) {
    if (m->chunked) body = chunked_length(in->buf + in->off, in->len);
    else if (m->content_length > 0 && in->len >= (uint64_t)m->content_length) body = (size_t)m->content_length;
  }
  if (body == 0) return http_write_head(fd, m, drop_expect) == 0 ? 0 : -1;
  struct iovec iov[2] = {{m->head, m->head_len}, {in->buf + in->off, body}};
  int i = 0;
  while (i < 2) {
    struct msghdr mh = {.msg_iov = iov + i, .msg_iovlen = (size_t)(2 - i)};
    ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    size_t left = (size_t)n;
    while (i < 2 && left >= iov[i].iov_len) left -= iov[i++].iov_len;
    if (i < 2) {
      iov[i].iov_base = (char *)iov[i].iov_base + left;
      iov[i].iov_len -= left;
    }
  }
  in->off += body;
  in->len -= body;
  return 1;
}
