/*
 * spawntime — process start cost, plain vs guarded, interleaved.
 *
 *   spawntime LIB POLICY ROUNDS -- CMD [ARGS…]
 * Each round runs CMD twice — once plain (LD_PRELOAD unset), once with LD_PRELOAD=LIB, EGRESS_GUARD_POLICY=POLICY,
 * EGRESS_GUARD_MODE=enforce — alternating which goes first, and measures each child from fork to reaped exit:
 * wall time (CLOCK_MONOTONIC) and the child's CPU time (user + system from wait4's rusage; not disturbed by other
 * work preempting it on a shared machine). The child's stdout/stderr go to /dev/null. One warm-up pair first.
 * Output: one JSON line {"plainWallUs":[…],"guardedWallUs":[…],"plainCpuUs":[…],"guardedCpuUs":[…]} (per round).
 *
 *   spawntime --once -- CMD [ARGS…]
 * Runs CMD once, plain, its output kept: prints {"wallUs":…,"cpuUs":…} to stderr (the compile benchmark's timer).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Runs argv plain or guarded; fills wall and cpu (µs). Returns 0, or -1 when the child failed. */
static int run(char **argv, const char *lib, const char *policy, double *wall, double *cpu) {
  double t0 = mono_us();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int nul = open("/dev/null", O_RDWR);
    dup2(nul, 1), dup2(nul, 2);
    if (lib) {
      setenv("LD_PRELOAD", lib, 1);
      setenv("EGRESS_GUARD_POLICY", policy, 1);
      setenv("EGRESS_GUARD_MODE", "enforce", 1);
    } else {
      unsetenv("LD_PRELOAD");
    }
    execvp(argv[0], argv);
    _exit(127);
  }
  int st;
  struct rusage ru;
  if (wait4(pid, &st, 0, &ru) != pid) return -1;
  *wall = mono_us() - t0;
  *cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void print_arr(const char *key, const double *v, int n, int last) {
  printf("\"%s\":[", key);
  for (int i = 0; i < n; i++) printf("%s%.0f", i ? "," : "", v[i]);
  printf("]%s", last ? "" : ",");
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "--once") == 0 && strcmp(argv[2], "--") == 0) {
    double t0 = mono_us();
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      execvp(argv[3], argv + 3);
      _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid) return 1;
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    fprintf(stderr, "{\"wallUs\":%.0f,\"cpuUs\":%.0f}\n", mono_us() - t0, cpu);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
  }
  if (argc < 6 || strcmp(argv[4], "--") != 0) {
    fprintf(stderr, "usage: spawntime LIB POLICY ROUNDS -- CMD [ARGS...]\n");
    return 2;
  }
  const char *lib = argv[1], *policy = argv[2];
  int rounds = atoi(argv[3]);
  if (rounds < 1 || rounds > 10000) return 2;
  char **cmd = argv + 5;
  double *pw = calloc((size_t)rounds, sizeof(double)), *gw = calloc((size_t)rounds, sizeof(double));
  double *pc = calloc((size_t)rounds, sizeof(double)), *gc = calloc((size_t)rounds, sizeof(double));
  double w, c;
  if (run(cmd, NULL, NULL, &w, &c) != 0 || run(cmd, lib, policy, &w, &c) != 0) {
    fprintf(stderr, "spawntime: %s failed (plain or guarded)\n", cmd[0]);
    return 1;
  }
  for (int r = 0; r < rounds; r++) {
    int ok = r % 2 ? run(cmd, lib, policy, &gw[r], &gc[r]) | run(cmd, NULL, NULL, &pw[r], &pc[r])
                   : run(cmd, NULL, NULL, &pw[r], &pc[r]) | run(cmd, lib, policy, &gw[r], &gc[r]);
    if (ok != 0) {
      fprintf(stderr, "spawntime: %s failed in round %d\n", cmd[0], r);
      return 1;
    }
  }
  printf("{");
  print_arr("plainWallUs", pw, rounds, 0);
  print_arr("guardedWallUs", gw, rounds, 0);
  print_arr("plainCpuUs", pc, rounds, 0);
  print_arr("guardedCpuUs", gc, rounds, 1);
  printf("}\n");
  return 0;
}
