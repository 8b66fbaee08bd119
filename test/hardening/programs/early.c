/*
 * early.c — a shared library whose constructor looks up a denied name and connects to a denied address before the
 * program's main, possibly before libegressguard.so's own constructor has run (test/hardening/faults.test.ts).
 * Results go to the file named by EARLY_OUT: "gai <rc>\nconnect <rc> <errno>\n".
 * The denied destinations come from EARLY_HOST / EARLY_IP / EARLY_PORT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((constructor)) static void early(void) {
  const char *out = getenv("EARLY_OUT"), *host = getenv("EARLY_HOST"), *ip = getenv("EARLY_IP");
  const char *port = getenv("EARLY_PORT");
  if (!out || !host || !ip || !port) return;
  struct addrinfo *res = NULL;
  int g = getaddrinfo(host, port, NULL, &res);
  if (res) freeaddrinfo(res);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)atoi(port));
  inet_pton(AF_INET, ip, &sa.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int c = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  int e = c == 0 ? 0 : errno;
  close(fd);
  char buf[128];
  int n = snprintf(buf, sizeof buf, "gai %d\nconnect %d %d\n", g, c, e);
  int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (o >= 0) {
    if (write(o, buf, (size_t)n) < 0) {}
    close(o);
  }
}
