/*
 * uncovered.c — will the guard be inside the program an exec or spawn is about to start? (docs/LOGGING.md
 * `uncovered`, docs/INTERPOSER.md "Children keep the guard")
 *
 * Contract: eg_uncovered_path(path, call) and eg_uncovered_fd(fd, call) never block the exec and never change errno.
 * When the guard cannot load into the target they count it (state file, `uncovered`) and log one `uncovered` line
 * (it goes to the guard's own log descriptor, so it reaches the log even when the child's stdio was redirected):
 *   static      an ELF without PT_INTERP (statically linked, e.g. CGO_ENABLED=0 Go): no dynamic loader, no preload;
 *   secure      the kernel will start it in secure-execution mode — set-user-ID to another user, set-group-ID to
 *               another group, or file capabilities (for a caller that is not root): ld.so then ignores every
 *               LD_PRELOAD entry that holds a slash, ours included (ld.so(8)); a mount with nosuid makes this a
 *               false report, never a missed one;
 *   no-preload  this library's own path cannot be written into LD_PRELOAD (unknown, or holds ':' or a space), so
 *               no child can be told to load it (childenv.c).
 * A script (#!) is judged by its interpreter, following up to 4 levels as the kernel does (BINPRM recursion). The
 * dynamic loader run as a program (`ld-linux-x86-64.so.2 prog`) is recognised by identity — same file as this
 * process's own interpreter (AT_BASE) — not by name, so a static binary renamed ld-linux… is still reported.
 * Cost: open + fstat + two preads (at most 64 program headers, into stack buffers) per exec. Unreadable targets are
 * not reported: the exec fails itself, or the kernel reads what we cannot (execute-only files), which we then
 * cannot judge.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "egp_rd.h"
#include "guard.h"

#define MAX_SCRIPT_DEPTH 4

/* The identity of this process's dynamic loader (dev, ino), found once; 0/0 when unknown. */
static uint64_t loader_dev, loader_ino;
static int loader_known; /* 0 not looked up, 1 known, -1 unknown */

static void find_loader(void) {
  if (loader_known) return;
  loader_known = -1;
  Dl_info info;
  unsigned long base = getauxval(AT_BASE);
  if (base == 0 || dladdr((void *)base, &info) == 0 || info.dli_fname == NULL) return;
  int fd = open(info.dli_fname, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return;
  struct stat st;
  if (eg_fd_stat(fd, &st) == 0) {
    loader_dev = (uint64_t)st.st_dev;
    loader_ino = (uint64_t)st.st_ino;
    loader_known = 1;
  }
  close(fd);
}

/* 1 when the ELF in fd has no PT_INTERP. hdr: the first bytes of the file (n of them). */
static int elf_is_static(int fd, const uint8_t *eh, size_t n) {
  if (n < 64 || memcmp(eh,
                       "\x7f"
                       "ELF",
                       4) != 0)
    return 0;
  uint16_t type = egp_rd16(eh + 16);
  if (type != 2 /* ET_EXEC */ && type != 3 /* ET_DYN */) return 0;
  uint64_t phoff;
  uint16_t phentsize, phnum;
  if (eh[4] == 2) { /* ELFCLASS64 */
    phoff = egp_rd64(eh + 32);
    phentsize = egp_rd16(eh + 54);
    phnum = egp_rd16(eh + 56);
  } else if (eh[4] == 1) {
    phoff = egp_rd32(eh + 28);
    phentsize = egp_rd16(eh + 42);
    phnum = egp_rd16(eh + 44);
  } else {
    return 0;
  }
  if (phnum == 0 || phentsize < 8 || phentsize > 64) return 0;
  if (phnum > 64) phnum = 64;
  uint8_t ph[64 * 64];
  size_t want = (size_t)phnum * phentsize;
  if (pread(fd, ph, want, (off_t)phoff) != (ssize_t)want) return 0;
  for (uint16_t i = 0; i < phnum; i++)
    if (egp_rd32(ph + (size_t)i * phentsize) == 3 /* PT_INTERP */) return 0;
  return 1;
}

static int runs_secure(int fd, const struct stat *st) {
  if ((st->st_mode & S_ISUID) && st->st_uid != getuid()) return 1;
  if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) && st->st_gid != getgid()) return 1;
  if (geteuid() != 0 && fgetxattr(fd, "security.capability", NULL, 0) > 0) return 1;
  return 0;
}

static const char *judge_fd(int fd, int depth);

/* "#!interp …": judge the interpreter. */
static const char *judge_script(const uint8_t *b, size_t n, int depth) {
  if (depth >= MAX_SCRIPT_DEPTH) return NULL;
  size_t i = 2;
  while (i < n && (b[i] == ' ' || b[i] == '\t')) i++;
  size_t start = i;
  while (i < n && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\0') i++;
  if (i == start || i - start >= 256) return NULL;
  char interp[256];
  memcpy(interp, b + start, i - start);
  interp[i - start] = '\0';
  int fd = open(interp, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return NULL;
  const char *r = judge_fd(fd, depth + 1);
  close(fd);
  return r;
}

static const char *judge_fd(int fd, int depth) {
  struct stat st;
  if (eg_fd_stat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return NULL;
  if (runs_secure(fd, &st)) return "secure";
  uint8_t head[256];
  ssize_t n = pread(fd, head, sizeof head, 0);
  if (n < 4) return NULL;
  if (head[0] == '#' && head[1] == '!') return judge_script(head, (size_t)n, depth);
  if (!elf_is_static(fd, head, (size_t)n)) return NULL;
  find_loader();
  if (loader_known == 1 && eg_same_file(&st, loader_dev, loader_ino)) return NULL; /* ld.so prog: LD_PRELOAD works */
  return "static";
}

static void report(const char *path, const char *reason, const char *call) {
  eg_state_count(EG_COUNT_UNCOVERED);
  eg_log_uncovered(path, reason, call);
}

void eg_uncovered_fd(int fd, const char *shown, const char *call) {
  int saved = errno;
  const char *reason = eg_child_preload_known() ? judge_fd(fd, 0) : "no-preload";
  if (reason) report(shown, reason, call);
  errno = saved;
}

void eg_uncovered_path(const char *path, const char *call) {
  if (path == NULL) return;
  int saved = errno;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd >= 0) {
    eg_uncovered_fd(fd, path, call);
    close(fd);
  } else if (!eg_child_preload_known()) {
    report(path, "no-preload", call);
  }
  errno = saved;
}
