/* A dynamically linked child that the test installs set-user-ID root: the kernel starts it in secure-execution mode,
 * so the dynamic loader ignores LD_PRELOAD paths and the guard is not inside it. GET /TAG from HOST:PORT, one JSON
 * line with its effective uid (0 when the set-user-ID bit took effect). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[3]))};
  inet_pton(AF_INET, argv[2], &a.sin_addr);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
  if (ok) {
    char req[256];
    int n = snprintf(req, sizeof req, "GET /%s HTTP/1.0\r\n\r\n", argv[1]);
    ok = write(s, req, (size_t)n) == n;
  }
  printf("{\"victim\":\"%s\",\"euid\":%d,\"ok\":%s}\n", argv[1], (int)geteuid(), ok ? "true" : "false");
  return 0;
}
