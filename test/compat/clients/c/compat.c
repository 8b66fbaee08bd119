/*
 * compat.c — the compatibility suite's C client (test/compat/c.test.ts; protocol: docs/COMPATIBILITY.md "Client
 * protocol"): for each `step=url` argument, `http://…` is fetched with libcurl's easy interface (Debian's libcurl:
 * its threaded resolver calls getaddrinfo, then `connect`), and `udp://ip:port/payload` is one datagram sent with
 * `sendto` on an unconnected socket. One line per step: COMPAT<TAB>step<TAB>ok|error<TAB>what<TAB>detail, where
 * `what` is what a C program branches on: the CURLcode's name, or the errno name of `sendto`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static size_t discard(char *p, size_t size, size_t n, void *ud) {
  (void)p, (void)ud;
  return size * n;
}

static const char *curl_code_name(CURLcode c) {
  switch (c) {
  case CURLE_COULDNT_RESOLVE_HOST: return "CURLE_COULDNT_RESOLVE_HOST";
  case CURLE_COULDNT_CONNECT: return "CURLE_COULDNT_CONNECT";
  case CURLE_OPERATION_TIMEDOUT: return "CURLE_OPERATION_TIMEDOUT";
  case CURLE_RECV_ERROR: return "CURLE_RECV_ERROR";
  case CURLE_SEND_ERROR: return "CURLE_SEND_ERROR";
  default: return "CURLE_OTHER";
  }
}

static void http_step(const char *step, const char *url) {
  CURL *h = curl_easy_init();
  char err[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 8L);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*"); /* the scenario is direct connections */
  CURLcode c = curl_easy_perform(h);
  if (c == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    printf("COMPAT\t%s\tok\tHTTP %ld\t\n", step, status);
  } else {
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    printf("COMPAT\t%s\terror\t%s%s\t%s\n", step, curl_code_name(c), os_errno == EACCES ? "[EACCES]" : "",
           err[0] ? err : curl_easy_strerror(c));
  }
  curl_easy_cleanup(h);
}

static void udp_step(const char *step, const char *rest) {
  char addr[64];
  const char *slash = strchr(rest, '/');
  const char *payload = slash ? slash + 1 : "";
  size_t alen = slash ? (size_t)(slash - rest) : strlen(rest);
  if (alen >= sizeof addr) alen = sizeof addr - 1;
  memcpy(addr, rest, alen);
  addr[alen] = '\0';
  char *colon = strrchr(addr, ':');
  struct sockaddr_in sa = {.sin_family = AF_INET};
  if (colon == NULL || (*colon = '\0', inet_pton(AF_INET, addr, &sa.sin_addr) != 1)) {
    printf("COMPAT\t%s\terror\tbad address\t%s\n", step, rest);
    return;
  }
  sa.sin_port = htons((unsigned short)atoi(colon + 1));
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ssize_t n = sendto(fd, payload, strlen(payload), 0, (struct sockaddr *)&sa, sizeof sa);
  if (n >= 0) printf("COMPAT\t%s\tok\tsent %zd bytes\t\n", step, n);
  else printf("COMPAT\t%s\terror\t%s\t%s\n", step, errno == EACCES ? "EACCES" : "errno", strerror(errno));
  close(fd);
}

int main(int argc, char **argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  for (int i = 1; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    if (eq == NULL) continue;
    *eq = '\0';
    if (strncmp(eq + 1, "udp://", 6) == 0) udp_step(argv[i], eq + 7);
    else http_step(argv[i], eq + 1);
    fflush(stdout);
  }
  curl_global_cleanup();
  return 0;
}
