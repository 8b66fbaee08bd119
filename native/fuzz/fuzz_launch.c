/*
 * fuzz_launch.c — libFuzzer harness for the launch record reader of egress-guard-run (native/launcher/record.c,
 * `eg_launch_check`): a record is a file in the user's cache that anything running as that user can rewrite, so no
 * record may crash, hang or mislead the launcher.
 *
 * Input: any bytes as a record's contents, in an exactly-sized heap block (ASan sees any read past it), checked for
 * one fixed invocation (`egress-guard-run --policy p.yaml -- true` in /tmp, PATH=/usr/bin:/bin, the other key
 * variables unset). Invariants (a violation aborts and names its line):
 *   - no out-of-bounds access, no leak (the check frees the record on failure; the harness frees what a success
 *     returns);
 *   - a record that does not end with a NUL, or does not start with the magic string, is refused;
 *   - on success: the command file is a string inside the record, the environment is NULL-terminated and every entry
 *     is NAME=VALUE with a non-empty NAME, and the same bytes give the same answer a second time.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gen/launch.h"
#include "launcher.h"

static char *const ARGV[] = {"--policy", "p.yaml"};
static char ENV0[] = "PATH=/usr/bin:/bin", ENV1[] = "LANG=C";
static char *ENV[] = {ENV0, ENV1, NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  static const char *const unset[] = {EG_LAUNCH_KEY_ENV};
  for (size_t i = 0; i < sizeof unset / sizeof unset[0]; i++) unsetenv(unset[i]);
  setenv("PATH", "/usr/bin:/bin", 1);
  return 0;
}

/* Frees what a successful check returned: the entries the record set, the array, the record. */
static void release(struct eg_launch *l) {
  for (char **e = l->envp; *e != NULL; e++)
    if (*e != ENV0 && *e != ENV1) free(*e);
  free(l->envp);
  free((void *)l->rec);
}

/* One check of a fresh copy of the input; returns its answer and, on success, the command file (copied). */
static int check_once(const uint8_t *data, size_t size, char *exe, size_t cap) {
  char *rec = malloc(size ? size : 1);
  if (rec == NULL) return -2;
  if (size) memcpy(rec, data, size);
  struct eg_launch l;
  int r = eg_launch_check(rec, size, ARGV, 2, "true", "/tmp", ENV, &l);
  if (r != 0) return r;
  CHECK(size > 0 && data[size - 1] == '\0');
  CHECK(strcmp(l.rec, EG_LAUNCH_MAGIC) == 0);
  CHECK(l.exe >= l.rec && l.exe < l.rec + l.len);
  size_t n = 0;
  for (char **e = l.envp; *e != NULL; e++, n++) {
    const char *eq = strchr(*e, '=');
    CHECK(eq != NULL && eq != *e);
  }
  CHECK(n <= 2 + size);
  snprintf(exe, cap, "%s", l.exe);
  release(&l);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char exe1[4096], exe2[4096];
  int r1 = check_once(data, size, exe1, sizeof exe1);
  if (r1 == -2) return 0;
  int r2 = check_once(data, size, exe2, sizeof exe2);
  CHECK(r1 == r2);
  if (r1 == 0) CHECK(strcmp(exe1, exe2) == 0);
  if (size == 0 || data[size - 1] != '\0') CHECK(r1 != 0);
  return 0;
}
