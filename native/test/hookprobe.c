/*
 * hookprobe — one real call per subcommand, run under LD_PRELOAD=libegressguard.so by test/native/hooks.test.ts.
 * Prints one JSON line per call on stdout: {"call":…,"rc":N,"errno":"NAME"} (errno only when rc < 0 / non-zero),
 * so the test asserts return values and errno names, not prose. Never uses stdio on stderr (the guard logs there).
 *
 *   connect IP PORT | syscall-connect IP PORT | sendto IP PORT | sendmsg IP PORT | syscall-sendto IP PORT
 *   sendmmsg IP1 IP2 PORT | fastopen IP PORT | unix PATH | gai NAME [PORT] | ghbn NAME | ghbn_r NAME | ghbn2_r NAME
 *   syscall-passthrough | sigpipe IP PORT | logfd-reuse IP PORT | exec PATH | spawn PATH | threads IP_OK IP_DENY PORT
 *   fork IP PORT | gai-connect NAME PORT | listen READYFILE IP:PORT… | ctor (libctorprobe.so's constructor connected to EG_CTOR_CONNECT before the guard's init)
 *   dns HOW IP NAME: a UDP socket connect()ed to IP:53 sends a DNS query for NAME without an address, with HOW =
 *   send | sendto | sendmsg | sendmmsg | syscall (SYS_sendto) | junk (send() of 1 non-DNS byte) | reconnect (connect
 *   again to IP:9999, then send() "x": no longer a DNS socket) | dup | dup2 | dup3 | fcntl | fcntl64 | syscall-dup |
 *   syscall-dup3 | syscall-fcntl (copy the socket that way, close the original, send() the query on the copy)
 * `IP` may be IPv4 or IPv6 (also ::ffff:a.b.c.d). Datagrams to port 53 carry a DNS query for allowed2.test (the raw-DNS
 * check parses them), other datagrams the byte "x".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
int ctorprobe_result(int *err); /* libctorprobe.so: connect() from a constructor that runs before the guard's */

static const char *ename(int e) {
  switch (e) {
  case EACCES: return "EACCES";
  case ECONNREFUSED: return "ECONNREFUSED";
  case ENOENT: return "ENOENT";
  case ENOSYS: return "ENOSYS";
  case EINPROGRESS: return "EINPROGRESS";
  case EPIPE: return "EPIPE";
  case ENETUNREACH: return "ENETUNREACH";
  case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
  default: return "OTHER";
  }
}

static void report(const char *call, long rc, int e) {
  if (rc < 0) printf("{\"call\":\"%s\",\"rc\":%ld,\"errno\":\"%s\",\"errnoNum\":%d}\n", call, rc, ename(e), e);
  else printf("{\"call\":\"%s\",\"rc\":%ld}\n", call, rc);
  fflush(stdout);
}

static socklen_t mkaddr(const char *ip, int port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *b = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, ip, &a->sin_addr) == 1) {
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    return sizeof *a;
  }
  if (inet_pton(AF_INET6, ip, &b->sin6_addr) == 1) {
    b->sin6_family = AF_INET6;
    b->sin6_port = htons((uint16_t)port);
    return sizeof *b;
  }
  fprintf(stdout, "{\"error\":\"bad ip %s\"}\n", ip);
  exit(2);
}

/* A DNS query (id 0x4547, RD, one question, type A, class IN) for name into b; returns its length. */
static size_t dns_query(const char *name, unsigned char b[300]) {
  static const unsigned char hdr[12] = {0x45, 0x47, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  memcpy(b, hdr, 12);
  size_t n = 12;
  while (*name && n < 280) {
    const char *dot = strchr(name, '.');
    size_t l = dot ? (size_t)(dot - name) : strlen(name);
    if (l > 63 || n + 1 + l > 280) break;
    b[n++] = (unsigned char)l;
    memcpy(b + n, name, l);
    n += l;
    name += l + (dot ? 1 : 0);
  }
  b[n++] = 0;
  static const unsigned char q[4] = {0, 1, 0, 1};
  memcpy(b + n, q, 4);
  return n + 4;
}

static unsigned char pl[300];
static size_t pln;
static void payload_for(int port) {
  if (port == 53) pln = dns_query("allowed2.test", pl);
  else pl[0] = 'x', pln = 1;
}

static int do_connect(const char *ip, int port, int via_syscall) {
  struct sockaddr_storage ss;
  socklen_t l = mkaddr(ip, port, &ss);
  int fd = socket(ss.ss_family, SOCK_STREAM, 0);
  errno = 0;
  long rc = via_syscall ? syscall(SYS_connect, fd, (struct sockaddr *)&ss, l) : connect(fd, (struct sockaddr *)&ss, l);
  int e = errno;
  close(fd);
  errno = e;
  return (int)rc;
}

static void *thread_main(void *arg) {
  char **a = arg;
  int port = atoi(a[2]);
  long bad = 0;
  for (int i = 0; i < 500; i++) {
    int ok = do_connect(a[0], port, i & 1);
    int e = errno;
    if (ok != 0) bad++; /* allowed destination: must connect */
    ok = do_connect(a[1], port, i & 1);
    e = errno;
    if (ok == 0 || e != EACCES) bad++; /* denied destination: must fail with EACCES */
  }
  return (void *)bad;
}

/* dns HOW with HOW naming a way to copy a descriptor: the copy of fd (or -1), -2 for any other HOW. */
static long dup_kind(const char *how, int fd) {
  if (strcmp(how, "dup") == 0) return dup(fd);
  if (strcmp(how, "dup2") == 0) return dup2(fd, 100);
  if (strcmp(how, "dup3") == 0) return dup3(fd, 101, O_CLOEXEC);
  if (strcmp(how, "fcntl") == 0) return fcntl(fd, F_DUPFD_CLOEXEC, 60);
  if (strcmp(how, "fcntl64") == 0) return fcntl64(fd, F_DUPFD, 70);
  if (strcmp(how, "syscall-dup") == 0) return syscall(SYS_dup, fd);
  if (strcmp(how, "syscall-dup3") == 0) return syscall(SYS_dup3, fd, 102, 0);
  if (strcmp(how, "syscall-fcntl") == 0) return syscall(SYS_fcntl, fd, F_DUPFD, 80);
  return -2;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *cmd = argv[1];
  struct sockaddr_storage ss;
  if (strcmp(cmd, "connect") == 0 || strcmp(cmd, "syscall-connect") == 0) {
    int rc = do_connect(argv[2], atoi(argv[3]), cmd[0] == 's');
    report(cmd, rc, errno);
  } else if (strcmp(cmd, "sendto") == 0 || strcmp(cmd, "syscall-sendto") == 0 || strcmp(cmd, "sendmsg") == 0) {
    socklen_t l = mkaddr(argv[2], atoi(argv[3]), &ss);
    int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    long rc;
    payload_for(atoi(argv[3]));
    if (cmd[0] == 's' && cmd[1] == 'y') rc = syscall(SYS_sendto, fd, pl, pln, 0, (struct sockaddr *)&ss, l);
    else if (strcmp(cmd, "sendto") == 0) rc = sendto(fd, pl, pln, 0, (struct sockaddr *)&ss, l);
    else {
      struct iovec iov = {pl, pln};
      struct msghdr m = {.msg_name = &ss, .msg_namelen = l, .msg_iov = &iov, .msg_iovlen = 1};
      rc = sendmsg(fd, &m, 0);
    }
    report(cmd, rc, errno);
  } else if (strcmp(cmd, "sendmmsg") == 0) {
    struct sockaddr_storage s1, s2;
    socklen_t l1 = mkaddr(argv[2], atoi(argv[4]), &s1), l2 = mkaddr(argv[3], atoi(argv[4]), &s2);
    int fd = socket(s1.ss_family, SOCK_DGRAM, 0);
    payload_for(atoi(argv[4]));
    struct iovec iov = {pl, pln};
    struct mmsghdr v[2];
    memset(v, 0, sizeof v);
    v[0].msg_hdr = (struct msghdr){.msg_name = &s1, .msg_namelen = l1, .msg_iov = &iov, .msg_iovlen = 1};
    v[1].msg_hdr = (struct msghdr){.msg_name = &s2, .msg_namelen = l2, .msg_iov = &iov, .msg_iovlen = 1};
    int rc = sendmmsg(fd, v, 2, 0);
    report(cmd, rc, errno);
  } else if (strcmp(cmd, "fastopen") == 0) {
    socklen_t l = mkaddr(argv[2], atoi(argv[3]), &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    long rc = sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&ss, l);
    report(cmd, rc, errno);
  } else if (strcmp(cmd, "unix") == 0) {
    struct sockaddr_un u = {.sun_family = AF_UNIX};
    snprintf(u.sun_path, sizeof u.sun_path, "%s", argv[2]);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    int rc = connect(fd, (struct sockaddr *)&u, sizeof u);
    report(cmd, rc, errno);
  } else if (strcmp(cmd, "gai") == 0) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(argv[2], argc > 3 ? argv[3] : NULL, &hints, &res);
    printf("{\"call\":\"gai\",\"rc\":%d,\"eai\":\"%s\"", rc, rc == 0 ? "" : rc == EAI_NONAME ? "EAI_NONAME" : "OTHER");
    int n = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) n++;
    printf(",\"results\":%d}\n", n);
    if (res) freeaddrinfo(res);
  } else if (strcmp(cmd, "ghbn") == 0) {
    struct hostent *h = gethostbyname(argv[2]);
    printf("{\"call\":\"ghbn\",\"found\":%s,\"h_errno\":%d}\n", h ? "true" : "false", h ? 0 : h_errno);
  } else if (strcmp(cmd, "ghbn_r") == 0 || strcmp(cmd, "ghbn2_r") == 0) {
    struct hostent he, *r = NULL;
    char buf[4096];
    int herr = 0;
    int rc = cmd[4] == '2' ? gethostbyname2_r(argv[2], AF_INET, &he, buf, sizeof buf, &r, &herr)
                           : gethostbyname_r(argv[2], &he, buf, sizeof buf, &r, &herr);
    printf("{\"call\":\"%s\",\"rc\":%d,\"found\":%s,\"h_errno\":%d}\n", cmd, rc, r ? "true" : "false", r ? 0 : herr);
  } else if (strcmp(cmd, "syscall-passthrough") == 0) {
    long pid = syscall(SYS_getpid);
    errno = 0;
    long bogus = syscall(100000, 1, 2, 3, 4, 5, 6);
    int e = errno;
    printf("{\"call\":\"syscall-passthrough\",\"pidOk\":%s,\"bogusRc\":%ld,\"bogusErrno\":\"%s\"}\n",
           pid == getpid() ? "true" : "false", bogus, ename(e));
  } else if (strcmp(cmd, "sigpipe") == 0) {
    /* stderr becomes a pipe without a reader; SIGPIPE at its default (terminate): a denied connect makes the guard
     * log into the broken pipe. The host must survive and see its own EACCES. */
    signal(SIGPIPE, SIG_DFL);
    int p[2];
    if (pipe(p) != 0) return 3;
    close(p[0]);
    dup2(p[1], 2);
    int rc = do_connect(argv[2], atoi(argv[3]), 0);
    int e = errno;
    /* a SIGPIPE the host raises itself is still delivered normally (blocked here so we can observe it) */
    sigset_t s, pend;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    sigprocmask(SIG_BLOCK, &s, NULL);
    ssize_t w = write(p[1], "x", 1);
    int we = errno;
    sigpending(&pend);
    printf(
        "{\"call\":\"sigpipe\",\"rc\":%d,\"errno\":\"%s\",\"survived\":true,\"ownWrite\":\"%s\",\"ownSigpipePending\":%s}\n",
        rc, ename(e), w < 0 ? ename(we) : "ok", sigismember(&pend, SIGPIPE) ? "true" : "false");
  } else if (strcmp(cmd, "logfd-reuse") == 0) {
    /* EGRESS_GUARD_LOG is a file: trigger a log line, close every fd above 2 like a daemon does (the guard's own
     * included), open a pipe on the lowest free numbers, trigger another line: nothing may be written into the pipe,
     * and the line must still reach the log. */
    do_connect(argv[2], atoi(argv[3]), 0);
    for (int fd = 3; fd < 1024; fd++) close(fd);
    int p[2];
    if (pipe(p) != 0) return 3;
    do_connect(argv[2], atoi(argv[3]), 0);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    char buf[256];
    ssize_t n = read(p[0], buf, sizeof buf);
    printf("{\"call\":\"logfd-reuse\",\"pipeFds\":[%d,%d],\"bytesInPipe\":%zd}\n", p[0], p[1], n < 0 ? 0 : n);
  } else if (strcmp(cmd, "exec") == 0) {
    fflush(stdout);
    char *av[] = {argv[2], NULL};
    execve(argv[2], av, environ);
    report("exec", -1, errno);
  } else if (strcmp(cmd, "spawn") == 0) {
    pid_t pid;
    char *av[] = {argv[2], NULL};
    int rc = posix_spawn(&pid, argv[2], NULL, NULL, av, environ);
    int st = 0;
    if (rc == 0) waitpid(pid, &st, 0);
    printf("{\"call\":\"spawn\",\"rc\":%d,\"exit\":%d}\n", rc, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  } else if (strcmp(cmd, "threads") == 0) {
    pthread_t t[8];
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, thread_main, argv + 2);
    long bad = 0;
    for (int i = 0; i < 8; i++) {
      void *r;
      pthread_join(t[i], &r);
      bad += (long)r;
    }
    printf("{\"call\":\"threads\",\"threads\":8,\"perThread\":1000,\"wrong\":%ld}\n", bad);
  } else if (strcmp(cmd, "fork") == 0) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      int rc = do_connect(argv[2], atoi(argv[3]), 0);
      report("fork-child", rc, errno);
      _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("{\"call\":\"fork\",\"childPid\":%d}\n", (int)pid);
  } else if (strcmp(cmd, "listen") == 0) {
    /* listen READYFILE IP:PORT… — accept and close connections until killed (60 s at most); not run guarded */
    alarm(60);
    int fds[16], n = 0;
    for (int i = 3; i < argc && n < 16; i++) {
      char ip[64];
      const char *c = strrchr(argv[i], ':');
      if (!c || (size_t)(c - argv[i]) >= sizeof ip) return 2;
      memcpy(ip, argv[i], (size_t)(c - argv[i]));
      ip[c - argv[i]] = 0;
      socklen_t l = mkaddr(ip, atoi(c + 1), &ss);
      int fd = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind(fd, (struct sockaddr *)&ss, l) != 0 || listen(fd, 512) != 0) return 3;
      fcntl(fd, F_SETFL, O_NONBLOCK);
      fds[n++] = fd;
    }
    close(open(argv[2], O_WRONLY | O_CREAT, 0600));
    for (;;) {
      int got = 0;
      for (int i = 0; i < n; i++) {
        int c = accept(fds[i], NULL, NULL);
        if (c >= 0) close(c), got = 1;
      }
      if (!got) usleep(1000);
    }
  } else if (strcmp(cmd, "gai-connect") == 0) {
    /* getaddrinfo NAME PORT, then connect to the first result: the connect is decided with the bound name */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_INET}, *res = NULL;
    int rc = getaddrinfo(argv[2], argv[3], &hints, &res);
    if (rc != 0) {
      printf("{\"call\":\"gai-connect\",\"gai\":%d}\n", rc);
    } else {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      int c = connect(fd, res->ai_addr, res->ai_addrlen);
      report("gai-connect", c, errno);
      freeaddrinfo(res);
    }
  } else if (strcmp(cmd, "dns") == 0 && argc == 5) {
    const char *how = argv[2];
    socklen_t l = mkaddr(argv[3], 53, &ss);
    int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (connect(fd, (struct sockaddr *)&ss, l) != 0) {
      report("dns-connect", -1, errno);
      return 0;
    }
    unsigned char q[300];
    size_t n = dns_query(argv[4], q);
    struct iovec iov[2] = {{q, 5}, {q + 5, n - 5}}; /* split: the parser must gather the iovecs */
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    long rc;
    errno = 0;
    if (strcmp(how, "send") == 0) rc = send(fd, q, n, 0);
    else if (strcmp(how, "sendto") == 0) rc = sendto(fd, q, n, 0, NULL, 0);
    else if (strcmp(how, "sendmsg") == 0) rc = sendmsg(fd, &m, 0);
    else if (strcmp(how, "sendmmsg") == 0) {
      struct mmsghdr v[1];
      memset(v, 0, sizeof v);
      v[0].msg_hdr = m;
      rc = sendmmsg(fd, v, 1, 0);
    } else if (strcmp(how, "syscall") == 0) rc = syscall(SYS_sendto, fd, q, n, 0, NULL, 0);
    else if (strcmp(how, "junk") == 0) rc = send(fd, "x", 1, 0);
    else if ((rc = dup_kind(how, fd)) != -2) {
      if (rc >= 0) {
        if (rc != fd) close(fd); /* the copy must keep its mark when the original goes */
        rc = send((int)rc, q, n, 0);
      }
    } else if (strcmp(how, "reconnect") == 0) {
      socklen_t l2 = mkaddr(argv[3], 9999, &ss);
      rc = connect(fd, (struct sockaddr *)&ss, l2);
      if (rc == 0) rc = send(fd, "x", 1, 0);
    } else return 2;
    char call[64];
    snprintf(call, sizeof call, "dns-%s", how);
    report(call, rc, errno);
  } else if (strcmp(cmd, "ctor") == 0) {
    int e = 0;
    int rc = ctorprobe_result(&e);
    report("ctor", rc, e);
  } else {
    return 2;
  }
  fflush(stdout);
  return 0;
}
