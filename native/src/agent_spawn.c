/*
 * agent_spawn.c — starts egress-guard-agent, the Runtime API proxy that meters every invoke (docs/METERING.md
 * "How the agent starts"), from the interposer's initialisation, before the host's main() reads its environment.
 *
 * Contract: eg_agent_spawn() runs once per process, from do_init (init.c) after the log is open and before
 * AWS_LAMBDA_RUNTIME_API is parsed. It starts the agent only in the first guarded process of a Lambda environment:
 *   - AWS_LAMBDA_RUNTIME_API is set (Lambda, or an emulator) and EGRESS_GUARD_UPSTREAM_API is not (no agent serves
 *     this process yet: children of the runtime inherit it, so they never start a second one);
 *   - EGRESS_GUARD_AGENT is not `off`;
 *   - the process is not an external extension (argv[0], or the script of argv[1], under /opt/extensions/): those
 *     keep the real Runtime API, and EGRESS_GUARD_AGENT=off is set in them so their children do not start one.
 * It binds 127.0.0.1:0 and listens (so the runtime can connect at once: nothing waits for the agent to be ready),
 * posix_spawns the agent (EGRESS_GUARD_AGENT if it is an absolute path, else bin/egress-guard-agent next to this
 * library's lib/ directory) with the socket as fd 3 and the environment minus LD_PRELOAD, then sets in its own
 * environment AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>, EGRESS_GUARD_UPSTREAM_API=<the real one> and
 * EGRESS_GUARD_STATE (default /tmp/egress-guard/state). Any failure leaves the environment untouched (the runtime
 * talks to Lambda directly, unmetered) and writes one `agent` warning line saying why (E_AGENT_MISSING,
 * E_AGENT_SPAWN). Cost: one socket, one vfork+exec (posix_spawn), no wait.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guard.h"
#include "hook.h"

extern char **environ;

#define DEFAULT_STATE "/tmp/egress-guard/state"
#define EXT_DIR "/opt/extensions/"

/* 1 when argv[0] or argv[1] (a script run by its interpreter) lies under /opt/extensions/. */
static int is_extension(void) {
  char buf[1024];
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  size_t l0 = strlen(buf);
  if (strncmp(buf, EXT_DIR, sizeof EXT_DIR - 1) == 0) return 1;
  return (ssize_t)l0 + 1 < n && strncmp(buf + l0 + 1, EXT_DIR, sizeof EXT_DIR - 1) == 0;
}

/* <dir of this library>/../bin/egress-guard-agent, or EGRESS_GUARD_AGENT when it is an absolute path. */
static int agent_path(char *out, size_t cap) {
  const char *v = getenv("EGRESS_GUARD_AGENT");
  if (v != NULL && v[0] == '/') {
    if (strlen(v) >= cap) return -1;
    strcpy(out, v);
    return 0;
  }
  Dl_info self;
  if (dladdr((void *)(uintptr_t)&eg_agent_spawn, &self) == 0 || self.dli_fname == NULL) return -1;
  const char *slash = strrchr(self.dli_fname, '/');
  if (slash == NULL) return -1;
  size_t dl = (size_t)(slash - self.dli_fname);
  static const char rel[] = "/../bin/egress-guard-agent";
  if (dl + sizeof rel > cap) return -1;
  memcpy(out, self.dli_fname, dl);
  memcpy(out + dl, rel, sizeof rel);
  return 0;
}

/* The agent's environment: ours without LD_PRELOAD (the agent is not guarded), plus the upstream and state path. */
static char **agent_env(const char *upstream_kv, const char *state_kv) {
  size_t n = 0;
  for (char **e = environ; e && *e; e++) n++;
  char **env = malloc((n + 3) * sizeof *env);
  if (env == NULL) return NULL;
  size_t k = 0;
  for (char **e = environ; e && *e; e++) {
    if (strncmp(*e, "LD_PRELOAD=", 11) == 0 || strncmp(*e, "EGRESS_GUARD_STATE=", 19) == 0) continue;
    env[k++] = *e;
  }
  env[k++] = (char *)upstream_kv;
  env[k++] = (char *)state_kv;
  env[k] = NULL;
  return env;
}

static int listen_loopback(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

void eg_agent_spawn(void) {
  const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == NULL || api[0] == '\0' || strlen(api) > 256) return;
  const char *up = getenv("EGRESS_GUARD_UPSTREAM_API");
  if (up != NULL && up[0] != '\0') return;
  static const char *const agent_words[] = {EG_CFG_AGENT_WORDS};
  if (eg_cfg_word(getenv(EG_CFG_AGENT_NAME), agent_words, EG_CFG_AGENT_NWORDS) == EG_CFG_AGENT_OFF) return; /* rule */
  if (is_extension()) {
    setenv("EGRESS_GUARD_AGENT", "off", 1);
    return;
  }
  char path[4096] = "";
  if (agent_path(path, sizeof path) != 0 || access(path, X_OK) != 0) {
    eg_log_agent("E_AGENT_MISSING", path[0] ? path : NULL,
                 "egress-guard-agent not found: per-invoke metering, request ids and budgets are off (the "
                 "interposer still guards every connection); ship bin/egress-guard-agent from the layer");
    return;
  }
  const char *state = getenv("EGRESS_GUARD_STATE");
  if (state == NULL || state[0] == '\0') state = DEFAULT_STATE;
  char upstream_kv[300], state_kv[4200], fd_arg[] = "3", parent[24];
  snprintf(upstream_kv, sizeof upstream_kv, "EGRESS_GUARD_UPSTREAM_API=%s", api);
  if ((size_t)snprintf(state_kv, sizeof state_kv, "EGRESS_GUARD_STATE=%s", state) >= sizeof state_kv) return;
  snprintf(parent, sizeof parent, "%ld", (long)getpid());

  int port = 0;
  int lfd = listen_loopback(&port);
  char **env = lfd >= 0 ? agent_env(upstream_kv, state_kv) : NULL;
  posix_spawn_file_actions_t fa;
  int rc = -1;
  pid_t pid;
  if (env != NULL && posix_spawn_file_actions_init(&fa) == 0) {
    if (posix_spawn_file_actions_adddup2(&fa, lfd, 3) == 0) {
      char *argv[] = {(char *)"egress-guard-agent", (char *)"--listen-fd", fd_arg, (char *)"--parent", parent, NULL};
      eg_posix_spawn_fn real = EG_REAL(posix_spawn); /* libc's: the agent is ours, not a child to inspect */
      rc = real ? real(&pid, path, &fa, NULL, argv, env) : ENOSYS;
    }
    posix_spawn_file_actions_destroy(&fa);
  }
  free(env);
  if (lfd >= 0) close(lfd);
  if (rc != 0) {
    eg_log_agent("E_AGENT_SPAWN", path,
                 "egress-guard-agent could not be started: per-invoke metering, request ids and budgets are off");
    return;
  }
  char addr[32];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
  setenv("EGRESS_GUARD_UPSTREAM_API", api, 1); /* api points into environ: copy it out before it is replaced */
  setenv("AWS_LAMBDA_RUNTIME_API", addr, 1);
  setenv("EGRESS_GUARD_STATE", state, 1);
}
