/* A statically linked child (no dynamic loader: LD_PRELOAD cannot reach it): GET /TAG from HOST:PORT, one JSON line. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    char buf[64];
    ok = ok && read(s, buf, sizeof buf) > 0;
  }
  printf("{\"victim\":\"%s\",\"static\":true,\"ok\":%s}\n", argv[1], ok ? "true" : "false");
  return 0;
}
