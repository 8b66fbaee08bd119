/*
 * http.h — the HTTP/1.1 the agent needs to relay the Lambda Runtime API: message heads, bodies, nothing more.
 *
 * Contract
 * - A `conn` is one socket with its read buffer: bytes read past a head or body stay there for the next message
 *   (keep-alive). Reads block; every function returns -1 on a socket error or an unexpected EOF.
 * - http_read_head() reads one request or response head (at most HTTP_HEAD_MAX bytes; more is malformed) and parses
 *   the request line / status line and the headers the relay needs: Content-Length, Transfer-Encoding: chunked,
 *   Connection: close (and HTTP/1.0 without keep-alive), Expect: 100-continue. Other headers are kept verbatim.
 * - http_relay_body() copies one message body from `in` to `out` (out < 0: read and discard it). Content-Length
 *   bodies are copied byte for byte; chunked bodies are decoded and re-encoded (one chunk per piece read), so the
 *   relay can end the stream at any moment with its own final chunk and trailers (http_abort_chunked); trailers of
 *   the sender are forwarded. Bodies are streamed in pieces of the read buffer, never held whole: no size limit.
 *   With `watch` set, before each blocking read the relay also polls watch->fd and, when it is readable and
 *   watch->should_abort() says so, ends the outgoing stream with watch->trailers and discards the rest of `in`.
 * Everything is plain blocking I/O, one connection per thread at a time (proxy.c); no allocation after conn_init().
 */
#ifndef EG_AGENT_HTTP_H
#define EG_AGENT_HTTP_H
#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX 65536
#define HTTP_MAX_HEADERS 96
#define HTTP_BUF 65536

struct conn {
  int fd;
  char *buf;
  size_t off, len; /* unread bytes: buf[off, off+len) */
};

struct http_field {
  uint32_t name, name_len, value, value_len; /* offsets into head */
};

struct http_msg {
  char *head; /* HTTP_HEAD_MAX bytes owned by the caller */
  size_t head_len;
  int is_request;
  char method[16];
  char path[1024];
  int status;
  int minor;              /* HTTP/1.minor */
  int64_t content_length; /* -1: none */
  int chunked, close, expect_continue;
  int n_fields;
  struct http_field f[HTTP_MAX_HEADERS];
};

struct http_watch {
  int fd;                                     /* polled with the input; readable = maybe abort */
  int (*should_abort)(void *ctx, int at_end); /* at_end: the sender's final chunk arrived (last chance) */
  void *ctx;
  const char *trailers; /* "Name: value\r\n…" sent after the final chunk when aborting */
  int aborted;          /* set by the relay when it ended the stream */
};

int conn_init(struct conn *c, int fd); /* allocates the read buffer; -1 on ENOMEM */
void conn_free(struct conn *c);

/* 0: a head was read; 1: EOF before any byte of it (the peer closed an idle connection); -1: I/O error or EOF inside
 * the head; -2: malformed or too large. */
int http_read_head(struct conn *c, struct http_msg *m, int is_request);
/* The value of the first header `name` (case-insensitive), not NUL-terminated, or NULL. */
const char *http_header(const struct http_msg *m, const char *name, size_t *len);
/* 1 when the response to this request/with this status carries no body (1xx, 204, 304). */
int http_no_body(const struct http_msg *m);

int http_write_all(int fd, const void *buf, size_t len);
/* Writes the head; drop_expect leaves out an `Expect` header (the relay answers 100-continue itself). */
int http_write_head(int fd, const struct http_msg *m, int drop_expect);
/* Writes the head and, when its whole body is already buffered in `in` (Content-Length, or chunked through the last
 * chunk and trailers: then passed on as sent), that body with it in one sendmsg(2) (consumed from `in`): 1 when the
 * body went too, 0 when only the head did (relay the body next), -1 on error. One write per small message: the
 * reader wakes once. */
int http_write_head_body(int fd, const struct http_msg *m, int drop_expect, struct conn *in);
/* Relays one body (see the top); out < 0 discards. read_to_eof: a response with neither length nor chunking. */
int http_relay_body(struct conn *in, int out, const struct http_msg *m, int read_to_eof, struct http_watch *watch);

#endif
