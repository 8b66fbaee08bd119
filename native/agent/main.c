/*
 * egress-guard-agent — the Lambda Runtime API proxy of egress-guard (docs/METERING.md "The agent").
 *
 *   egress-guard-agent --listen-fd N [--parent PID]
 *
 * Started by the interposer's constructor in the first guarded process of a Lambda environment
 * (native/src/agent_spawn.c): that process binds 127.0.0.1:0, listens, hands the socket over as fd N, points its own
 * AWS_LAMBDA_RUNTIME_API at it and keeps the real one in EGRESS_GUARD_UPSTREAM_API. Nothing waits for the agent to be
 * ready: connections queue in the listen backlog until it accepts them.
 * Contract: never writes to stdout except EMF lines; exits when its parent (the runtime) dies (PR_SET_PDEATHSIG);
 * exit status 2 when it cannot start (bad arguments, no upstream) — the runtime's Runtime API calls then fail, so
 * the invoke fails at once rather than hanging (the spawner only hands over a socket after a successful spawn).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "report.h"

static void usage(void) {
  static const char m[] = "usage: egress-guard-agent --listen-fd N [--parent PID]\n"
                          "  the Lambda Runtime API proxy of egress-guard; started by libegressguard.so "
                          "(docs/METERING.md)\n";
  (void)!write(2, m, sizeof m - 1);
}

/* Descriptors the runtime had open when it started us are not ours: close all but 0-2, the socket and the log. */
static void close_inherited(int keep) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return;
  int self = dirfd(d);
  struct dirent *e;
  int fds[256], n = 0;
  while ((e = readdir(d)) != NULL && n < 256) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd > 2 && fd != keep && fd != self) fds[n++] = fd;
  }
  closedir(d);
  for (int i = 0; i < n; i++) close(fds[i]);
}

int main(int argc, char **argv) {
  int lfd = -1;
  long parent = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--listen-fd") == 0 && i + 1 < argc) lfd = atoi(argv[++i]);
    else if (strcmp(argv[i], "--parent") == 0 && i + 1 < argc) parent = atol(argv[++i]);
    else {
      usage();
      return 2;
    }
  }
  int type = 0;
  socklen_t tl = sizeof type;
  if (lfd < 3 || getsockopt(lfd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM) {
    usage();
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (parent > 0 && getppid() != (pid_t)parent) return 0; /* the runtime is already gone */
  signal(SIGPIPE, SIG_IGN);
  close_inherited(lfd);
  if (config_load() != 0) return 2;
  if (cfg.warn[0]) report_warning("E_AGENT_CONFIG", cfg.warn);
  if (cfg.state_path[0] && statew_open(cfg.state_path) != 0)
    report_warning("E_STATE_OPEN", "the agent cannot open the invoke state file: no request ids on guard lines, "
                                   "budgets enforced by the agent's sampler only");
  statew_set_pid((uint64_t)getpid());
  if (inv_init() != 0 || sampler_start() != 0) {
    report_warning("E_AGENT_START", "egress-guard-agent cannot start its sampler; relaying without metering");
  }
  proxy_serve(lfd);
  return 0;
}
