/*
 * resolver_sunrpc.c — a program that uses glibc's Sun RPC client the way a binary built against an older glibc does
 * (test/adversarial/resolver-entry.test.ts). Since glibc 2.32 these are compat symbols: the .symver lines bind to them
 * by version, as such a binary's references do; on older glibc they are the default symbols anyway.
 *   resolver_sunrpc HOST IP
 * clnt_create, callrpc and getrpcport resolve HOST; clnttcp_create connects to IP:443, pmap_getport sends to IP:111,
 * rtime asks IP's time service. Prints one JSON array of what each returned.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#if defined(__x86_64__)
#define OLD "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define OLD "GLIBC_2.17"
#endif
__asm__(".symver clnt_create,clnt_create@" OLD);
__asm__(".symver callrpc,callrpc@" OLD);
__asm__(".symver getrpcport,getrpcport@" OLD);
__asm__(".symver clnttcp_create,clnttcp_create@" OLD);
__asm__(".symver pmap_getport,pmap_getport@" OLD);
__asm__(".symver rtime,rtime@" OLD);
__asm__(".symver xdr_void,xdr_void@" OLD);

/* glibc no longer installs the rpc/ headers: the prototypes as glibc 2.26 declared them. */
void *clnt_create(const char *host, unsigned long prog, unsigned long vers, const char *proto);
int callrpc(const char *host, unsigned long prog, unsigned long vers, unsigned long proc, void *inproc, const char *in,
            void *outproc, char *out);
int getrpcport(const char *host, unsigned long prog, unsigned long vers, unsigned int proto);
void *clnttcp_create(struct sockaddr_in *raddr, unsigned long prog, unsigned long vers, int *sockp, unsigned int sendsz,
                     unsigned int recvsz);
unsigned short pmap_getport(struct sockaddr_in *addr, unsigned long prog, unsigned long vers, unsigned int proto);
int rtime(struct sockaddr_in *addr, struct timeval *timep, struct timeval *timeout);
int xdr_void(void);

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  const unsigned long PMAP = 100000, V2 = 2;
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  inet_pton(AF_INET, argv[2], &sin.sin_addr);
  sin.sin_port = htons(443);
  int sock = -1;
  struct timeval tv = {0, 0}, to = {1, 0};
  void *c1 = clnt_create(argv[1], PMAP, V2, "udp");
  int c2 = callrpc(argv[1], PMAP, V2, 0, (void *)xdr_void, NULL, (void *)xdr_void, NULL);
  int c3 = getrpcport(argv[1], PMAP, V2, IPPROTO_UDP);
  void *c4 = clnttcp_create(&sin, PMAP, V2, &sock, 0, 0);
  struct sockaddr_in pm = sin;
  unsigned short c5 = pmap_getport(&pm, PMAP, V2, IPPROTO_UDP);
  int c6 = rtime(&sin, &tv, &to);
  printf("[%d,%d,%d,%d,%u,%d]\n", c1 != NULL, c2, c3, c4 != NULL, c5, c6);
  return 0;
}
