/*
 * proxy_test.c — unit tests of the proxy's pure parts: request heads (what is accepted, how each host spelling is
 * decided), head rewriting, and the bootstrap classification. Usage: proxy_tests STATIC_BINARY DYNAMIC_BINARY.
 * The proxy's behaviour end to end (policy, logs, budgets, extensions) is tested from test/proxy/ with real clients.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy.h"

struct px_config px; /* coverage.c/request.c read nothing from it here */
static int failures, checks;

#define CHECK(cond, ...)                                                                                               \
  do {                                                                                                                 \
    checks++;                                                                                                          \
    if (!(cond)) {                                                                                                     \
      failures++;                                                                                                      \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                             \
      fprintf(stderr, __VA_ARGS__);                                                                                    \
      fputc('\n', stderr);                                                                                             \
    }                                                                                                                  \
  } while (0)

/* stubs for what coverage.c links against */
void px_log_event(int level, const char *event, const char *msg, const char *const *kv) {
  (void)level, (void)event, (void)msg, (void)kv;
}

static int parse(const char *head, struct px_request *r) { return px_parse_request(head, strlen(head), r); }

static void test_requests(void) {
  struct px_request r;
  CHECK(parse("CONNECT Example.COM.:443 HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0, "connect");
  CHECK(r.kind == PX_KIND_CONNECT && r.port == 443 && !r.host_is_ip && strcmp(r.host, "example.com") == 0,
        "connect normalised: %s:%d", r.host, r.port);
  CHECK(parse("CONNECT example.com HTTP/1.1\r\n\r\n", &r) == 400, "CONNECT needs a port");
  CHECK(parse("CONNECT example.com:0 HTTP/1.1\r\n\r\n", &r) == 400, "port 0");
  CHECK(parse("CONNECT example.com:65536 HTTP/1.1\r\n\r\n", &r) == 400, "port range");
  CHECK(parse("CONNECT user@example.com:443 HTTP/1.1\r\n\r\n", &r) == 400, "userinfo refused");
  CHECK(parse("CONNECT allowed.test\\.evil.com:443 HTTP/1.1\r\n\r\n", &r) == 400, "backslash refused");
  CHECK(parse("CONNECT a..b:443 HTTP/1.1\r\n\r\n", &r) == 400, "empty label refused");
  CHECK(parse("CONNECT a%2eb:443 HTTP/1.1\r\n\r\n", &r) == 400, "percent refused");
  CHECK(parse("CONNECT 127.1:443 HTTP/1.1\r\n\r\n", &r) == 0 && r.host_is_ip && !r.ip.is_v6 && r.ip.v4 == 0x7f000001,
        "inet_aton short form is the address 127.0.0.1, never a name");
  CHECK(parse("CONNECT 0x0a.0x4d.0.2:443 HTTP/1.1\r\n\r\n", &r) == 0 && r.host_is_ip && r.ip.v4 == 0x0a4d0002,
        "hex form is an address");
  CHECK(parse("CONNECT 2130706433:80 HTTP/1.1\r\n\r\n", &r) == 0 && r.host_is_ip && r.ip.v4 == 0x7f000001,
        "a bare number is an address");
  CHECK(parse("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n", &r) == 0 && r.host_is_ip && r.ip.is_v6, "ipv6");
  CHECK(parse("CONNECT [::ffff:10.0.0.1]:443 HTTP/1.1\r\n\r\n", &r) == 0 && r.host_is_ip && !r.ip.is_v6 &&
            r.ip.v4 == 0x0a000001,
        "v4-mapped is decided as IPv4");
  CHECK(parse("CONNECT [fe80::1%eth0]:443 HTTP/1.1\r\n\r\n", &r) == 400, "zone id refused");
  CHECK(parse("CONNECT [example.com]:443 HTTP/1.1\r\n\r\n", &r) == 400, "brackets hold IPv6 only");
  CHECK(parse("GET http://Example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n", &r) == 0 &&
            r.kind == PX_KIND_FORWARD && r.port == 80 && strcmp(r.host, "example.com") == 0,
        "forward default port");
  CHECK(parse("POST http://example.com:8080 HTTP/1.0\r\n\r\n", &r) == 0 && r.port == 8080, "forward port, no path");
  CHECK(parse("GET https://example.com/ HTTP/1.1\r\n\r\n", &r) == 501, "https absolute-form is not proxied");
  CHECK(parse("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", &r) == 501, "origin-form to the proxy itself");
  CHECK(parse("GET http://example.com/ HTTP/2.0\r\n\r\n", &r) == 400, "version");
  CHECK(parse("get http://example.com/ HTTP/1.1\r\n\r\n", &r) == 400, "method token upper case");
  CHECK(parse("GET http://example.com/ HTTP/1.1\r\n", &r) == 400, "incomplete head");
  char longname[300];
  memset(longname, 'a', sizeof longname);
  memcpy(longname, "CONNECT ", 8);
  strcpy(longname + 8 + 64, ":1 HTTP/1.1\r\n\r\n");
  CHECK(parse(longname, &r) == 400, "label over 63 bytes");
}

static void test_rewrite(void) {
  const char *req = "GET http://example.com:8080/p/q?x=1#frag HTTP/1.1\r\nHost: example.com:8080\r\n"
                    "Proxy-Connection: keep-alive\r\nConnection: keep-alive\r\nProxy-Authorization: Basic eA==\r\n"
                    "Accept: */*\r\n\r\n";
  char out[1024];
  size_t n = px_rewrite_request(req, strlen(req), out, sizeof out);
  out[n] = '\0';
  CHECK(n > 0 && strcmp(out, "GET /p/q?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n"
                             "Connection: close\r\n\r\n") == 0,
        "request rewrite: [%s]", out);
  const char *bare = "GET http://example.com HTTP/1.1\r\n\r\n";
  n = px_rewrite_request(bare, strlen(bare), out, sizeof out);
  out[n] = '\0';
  CHECK(strcmp(out, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n") == 0, "empty path: [%s]", out);
  CHECK(px_rewrite_request(req, strlen(req), out, 20) == 0, "does not fit");
  const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n";
  int status;
  n = px_rewrite_response(resp, strlen(resp), out, sizeof out, &status);
  out[n] = '\0';
  CHECK(status == 200 && strcmp(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n") == 0,
        "response rewrite: [%s]", out);
  const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
  n = px_rewrite_response(cont, strlen(cont), out, sizeof out, &status);
  CHECK(status == 100 && n == strlen(cont) && memcmp(out, cont, n) == 0, "1xx passes unchanged");
  CHECK(px_head_end("ab\r\n\r\ncd", 8) == 6 && px_head_end("ab\r\n\r", 5) == 0, "head end");
}

static int classify(const char *path) {
  int fd = open(path, O_RDONLY);
  int k = fd < 0 ? -1 : px_classify_binary(fd);
  if (fd >= 0) close(fd);
  return k;
}

static void test_classify(const char *static_bin, const char *dynamic_bin) {
  CHECK(classify(static_bin) == PX_BIN_STATIC, "static: %d", classify(static_bin));
  CHECK(classify(dynamic_bin) == PX_BIN_DYNAMIC, "dynamic: %d", classify(dynamic_bin));
  char tmpl[] = "/tmp/px-classify-XXXXXX";
  int fd = mkstemp(tmpl);
  CHECK(fd >= 0, "mkstemp");
  (void)!write(fd, "#!/bin/sh\nexit 0\n", 17);
  CHECK(px_classify_binary(fd) == PX_BIN_SCRIPT, "script");
  /* a truncated ELF header whose program headers point past the end: rejected, never read out of bounds */
  unsigned char elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
  elf[32] = 0xff, elf[33] = 0xff, elf[54] = 56, elf[56] = 4; /* e_phoff = 0xffff, e_phentsize 56, e_phnum 4 */
  CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, elf, sizeof elf, 0) == (ssize_t)sizeof elf, "write elf");
  CHECK(px_classify_binary(fd) == PX_BIN_OTHER, "bad program header table");
  close(fd);
  unlink(tmpl);
  CHECK(classify("/") == PX_BIN_MISSING, "a directory is no bootstrap");
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: proxy_tests STATIC_BINARY DYNAMIC_BINARY\n");
    return 2;
  }
  test_requests();
  test_rewrite();
  test_classify(argv[1], argv[2]);
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures ? 1 : 0;
}
