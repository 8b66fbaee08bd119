/* ctorprobe — a shared library whose constructor calls connect() (to the address in EG_CTOR_CONNECT, "ip:port")
 * before libegressguard.so's own constructor has run: the hook must initialise itself lazily and decide. It stores
 * the result for `ctorprobe_result()`; hookprobe's `ctor` subcommand prints it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int result_rc = 99, result_errno;

__attribute__((constructor)) static void early(void) {
  const char *v = getenv("EG_CTOR_CONNECT");
  if (!v) return;
  char ip[64];
  const char *c = strrchr(v, ':');
  if (!c || (size_t)(c - v) >= sizeof ip) return;
  memcpy(ip, v, (size_t)(c - v));
  ip[c - v] = 0;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(c + 1))};
  inet_pton(AF_INET, ip, &a.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  result_rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  result_errno = errno;
  close(fd);
}

__attribute__((visibility("default"))) int ctorprobe_result(int *err) {
  *err = result_errno;
  return result_rc;
}
