/*
 * sigconnect — a signal handler that connects while the guard is busy in the same thread (the guard's re-entry depth
 * raised): inside getaddrinfo, which waits for a nameserver that never answers (this program binds 127.0.0.1:53 and
 * reads nothing, so it runs as root inside the test's namespace). SIGALRM fires 300 ms into the lookup; the handler
 * connects to DENIED:PORT. Prints one JSON line; the witness is the echo server on DENIED:PORT.
 *
 *   sigconnect MODE DENIED PORT NAME
 *   MODE: sigaction | siginfo | signal | sysv_signal | sigset   how the handler is installed
 *         longjmp   the handler connects, then leaves the lookup with siglongjmp; the program connects again after it
 *         query     sigaction installs the handler; the old action read back must be the program's own handler
 * Output: {"mode","firedInLookup","rc","errno"[,"afterRc","afterErrno"][,"transparent"]} (errno names).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static struct sockaddr_in denied;
static volatile sig_atomic_t in_lookup, fired, fired_in_lookup, conn_rc, conn_errno;
static sigjmp_buf out;
static int jump;

static const char *ename(int e) {
  return e == 0 ? "" : e == EACCES ? "EACCES" : e == ECONNREFUSED ? "ECONNREFUSED" : e == EINTR ? "EINTR" : "OTHER";
}

static void connect_now(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  fired = 1;
  fired_in_lookup = in_lookup;
  errno = 0;
  conn_rc = connect(fd, (struct sockaddr *)&denied, sizeof denied);
  conn_errno = errno;
  close(fd);
}

static void on_alarm(int sig) {
  (void)sig;
  connect_now();
  if (jump) siglongjmp(out, 1);
}

static void on_alarm_info(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (si != NULL && si->si_signo == sig) connect_now();
}

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  const char *mode = argv[1];
  memset(&denied, 0, sizeof denied);
  denied.sin_family = AF_INET;
  denied.sin_port = htons((uint16_t)atoi(argv[3]));
  inet_pton(AF_INET, argv[2], &denied.sin_addr);
  /* the silent nameserver of /etc/resolv.conf (127.0.0.1 in the test's namespace) */
  int ns = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ns, (struct sockaddr *)&a, sizeof a) != 0) return 3;

  int transparent = -1;
  if (strcmp(mode, "signal") == 0) signal(SIGALRM, on_alarm);
  else if (strcmp(mode, "sysv_signal") == 0) sysv_signal(SIGALRM, on_alarm);
  else if (strcmp(mode, "sigset") == 0) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* obsolete, and still exported: it must be covered */
    sigset(SIGALRM, on_alarm);
#pragma GCC diagnostic pop
  } else {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (strcmp(mode, "siginfo") == 0) sa.sa_sigaction = on_alarm_info, sa.sa_flags = SA_SIGINFO;
    else sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    if (strcmp(mode, "query") == 0) {
      struct sigaction back;
      sigaction(SIGALRM, NULL, &back);
      transparent = back.sa_handler == on_alarm;
    }
  }
  jump = strcmp(mode, "longjmp") == 0;
  for (int attempt = 0; attempt < 5 && !(fired && fired_in_lookup); attempt++) {
    fired = 0;
    struct itimerval t = {{0, 0}, {0, 300000}};
    setitimer(ITIMER_REAL, &t, NULL);
    if (sigsetjmp(out, 1) == 0) {
      struct addrinfo hints, *res = NULL;
      memset(&hints, 0, sizeof hints);
      hints.ai_socktype = SOCK_STREAM;
      in_lookup = 1;
      if (getaddrinfo(argv[4], "80", &hints, &res) == 0) freeaddrinfo(res);
      in_lookup = 0;
    }
    in_lookup = 0;
    if (!fired) pause(); /* the lookup ended before the timer: let it fire, then try again */
  }
  printf("{\"mode\":\"%s\",\"firedInLookup\":%s,\"rc\":%d,\"errno\":\"%s\"", mode, fired_in_lookup ? "true" : "false",
         (int)conn_rc, ename(conn_errno));
  if (jump) {
    connect_now(); /* after leaving the lookup through the handler */
    printf(",\"afterRc\":%d,\"afterErrno\":\"%s\"", (int)conn_rc, ename(conn_errno));
  }
  if (transparent >= 0) printf(",\"transparent\":%s", transparent ? "true" : "false");
  printf("}\n");
  return 0;
}
