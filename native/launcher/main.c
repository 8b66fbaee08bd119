/*
 * egress-guard-run — the native launcher of `egress-guard run` (docs/POLICY.md "The launcher and its records").
 *
 *   egress-guard-run [run's options] -- <command> [args…]     (exactly the arguments of `egress-guard run`)
 *
 * Contract:
 * - It parses no option and compiles nothing: the Node CLI is the one place that does. It splits its arguments at
 *   the first `--` and looks for the launch record the Node CLI wrote for these arguments, this working directory,
 *   this command word and these values of the variables `run` reads (contracts/launch.yaml). When the record passes
 *   every check (record.c: private file, well formed, same arguments, cwd and variables, the command resolves to the
 *   same unchanged file, the library and the compiler's files have the same stamps, the policy, its names files and
 *   the `.egp` still hash to the recorded SHA-256), it writes the record's warnings to stderr and execs the command
 *   itself with the record's variables set and, as the Node CLI's child gets them, every signal at its default action
 *   and none blocked: the command's process is this process (no Node.js, no extra process).
 * - On anything else — no `--`, no record, any check failing, any error — it execs the Node CLI unchanged:
 *   `node <package>/dist/policy/bin.js run <its arguments>` (`node` found on PATH, as the bin's `#!/usr/bin/env node`
 *   finds it), which runs the command and writes the record for the next time. The CLI is found next to this
 *   program: ../../dist/policy/bin.js (a clone: native/build/) or ../../policy/bin.js (dist/launcher/<arch>/).
 * - Exit status: the command's (it is the command), or the Node CLI's; 125 when not even node can be started.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher.h"

extern char **environ;

/* The Node CLI next to this program (see the contract), into out[cap]; -1 when none is found. */
static int find_cli(char *out, size_t cap) {
  static const char *const REL[] = {"/../../dist/policy/bin.js", "/../../policy/bin.js"};
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return -1;
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (slash == NULL) return -1;
  *slash = '\0';
  for (size_t i = 0; i < sizeof REL / sizeof REL[0]; i++) {
    int w = snprintf(out, cap, "%s%s", self, REL[i]);
    if (w > 0 && (size_t)w < cap && access(out, R_OK) == 0) return 0;
  }
  return -1;
}

/* What the Node CLI's child gets (libuv resets it before exec): signals 1-31 at their default action (31: the real-
 * time signals are glibc's own) and no signal blocked. So an ignored SIGHUP (nohup) or SIGINT (a background job) is
 * not ignored by the command on either path. */
static void reset_signals(void) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int n = 1; n < 32; n++)
    if (n != SIGKILL && n != SIGSTOP) sigaction(n, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The Node.js path: node <cli> run <args…>. Returns only when it cannot be started. */
static int run_node(int argc, char **argv) {
  char cli[PATH_MAX];
  if (find_cli(cli, sizeof cli) != 0) {
    fprintf(stderr, "egress-guard-run: E_RUN_LAUNCHER: cannot find the egress-guard CLI (dist/policy/bin.js) next to "
                    "this program (run `npm run build`, or use `egress-guard run`)\n");
    return 125;
  }
  char **nargv = calloc((size_t)argc + 3, sizeof *nargv);
  if (nargv == NULL) return 125;
  nargv[0] = "node";
  nargv[1] = cli;
  nargv[2] = "run";
  for (int i = 1; i < argc; i++) nargv[i + 2] = argv[i];
  execvp("node", nargv);
  fprintf(stderr, "egress-guard-run: E_RUN_LAUNCHER: cannot start node: %s (is Node.js on PATH?)\n", strerror(errno));
  free(nargv);
  return 125;
}

int main(int argc, char **argv) {
  int split = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      split = i;
      break;
    }
  }
  char cwd[PATH_MAX];
  struct eg_launch l;
  if (split > 0 && split + 1 < argc && getcwd(cwd, sizeof cwd) != NULL &&
      eg_launch_load(argv + 1, (size_t)(split - 1), argv[split + 1], cwd, environ, &l) == 0) {
    reset_signals();
    execve(l.exe, argv + split + 1, l.envp);
    /* could not exec after all: the Node CLI decides (and reports) */
  }
  return run_node(argc, argv);
}
