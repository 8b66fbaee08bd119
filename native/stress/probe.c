/*
 * probe.c — a tiny guarded program for the hardening tests: one lookup and one TCP connect, results as one JSON line.
 *
 *   probe HOST IP PORT   →  {"gai":"ok"|"EAI_NONAME"|…,"connect":"ok"|"EACCES"|"ECONNREFUSED"|…}
 *
 * Run under the guard inside a network namespace of the test's own (an audit-mode connect really goes out there).
 * Exit 0 whatever the results (the caller judges them); anything else means the process itself failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *gai_name(int rc) {
  switch (rc) {
  case 0: return "ok";
  case EAI_NONAME: return "EAI_NONAME";
  case EAI_AGAIN: return "EAI_AGAIN";
  case EAI_FAIL: return "EAI_FAIL";
  case EAI_SYSTEM: return "EAI_SYSTEM";
  default: return "EAI_OTHER";
  }
}

static const char *errno_name(int e) {
  switch (e) {
  case 0: return "ok";
  case EACCES: return "EACCES";
  case ECONNREFUSED: return "ECONNREFUSED";
  case ENETUNREACH: return "ENETUNREACH";
  case ETIMEDOUT: return "ETIMEDOUT";
  case ENOSYS: return "ENOSYS";
  default: return "EOTHER";
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: probe HOST IP PORT\n");
    return 2;
  }
  struct addrinfo *res = NULL;
  int rc = getaddrinfo(argv[1], argv[3], NULL, &res);
  if (res) freeaddrinfo(res);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)atoi(argv[3]));
  if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) return 2;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  errno = 0;
  int c = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  int e = c == 0 ? 0 : errno;
  close(fd);
  printf("{\"gai\":\"%s\",\"connect\":\"%s\"}\n", gai_name(rc), errno_name(e));
  return 0;
}
