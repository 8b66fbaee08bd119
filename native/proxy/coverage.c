/*
 * coverage.c — what the guard covers for this function's bootstrap, said once at start (docs/PROXY.md "What is
 * covered"). An OS-only runtime runs `bootstrap` from the function package (`$LAMBDA_TASK_ROOT/bootstrap`), else from
 * a layer (`/opt/bootstrap`); LD_PRELOAD reaches it only when it is dynamically linked, and Go programs connect with
 * raw system calls even then. So the proxy classifies that file and logs one `proxy` line:
 *   static Go            → covers `proxy`: only traffic sent through HTTPS_PROXY/HTTP_PROXY is seen;
 *   dynamic (cgo) Go     → `proxy+lookups` with the interposer preloaded (libc name lookups are decided too);
 *   other dynamic ELF    → `proxy+libc` with the interposer preloaded (everything through libc);
 *   anything else / no LD_PRELOAD → `proxy`.
 * px_classify_binary() reads the ELF header and program headers with pread(), checks every offset and size against
 * the file, looks for PT_INTERP (dynamic) and for the Go build-id note (name "Go", type 4) in PT_NOTE segments.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy.h"

#define NOTE_MAX 4096

static int has_go_note(int fd, const Elf64_Phdr *ph, uint64_t fsize) {
  if (ph->p_offset >= fsize || ph->p_filesz == 0) return 0;
  uint64_t len = ph->p_filesz < NOTE_MAX ? ph->p_filesz : NOTE_MAX;
  if (len > fsize - ph->p_offset) len = fsize - ph->p_offset;
  unsigned char buf[NOTE_MAX];
  if (pread(fd, buf, len, (off_t)ph->p_offset) != (ssize_t)len) return 0;
  uint64_t at = 0;
  while (at + 12 <= len) {
    uint32_t namesz, descsz, type;
    memcpy(&namesz, buf + at, 4);
    memcpy(&descsz, buf + at + 4, 4);
    memcpy(&type, buf + at + 8, 4);
    uint64_t name_at = at + 12;
    uint64_t desc_at = name_at + (((uint64_t)namesz + 3) & ~3ull);
    uint64_t next = desc_at + (((uint64_t)descsz + 3) & ~3ull);
    if (next > len || next <= at) break;
    /* Go's linker writes the owner as "Go\0\0" (namesz 4); the ELF convention would be "Go\0" (3): accept both */
    if ((namesz == 3 || namesz == 4) && name_at + namesz <= len && memcmp(buf + name_at, "Go\0", 3) == 0 && type == 4)
      return 1;
    at = next;
  }
  return 0;
}

int px_classify_binary(int fd) {
  off_t end = lseek(fd, 0, SEEK_END);  /* not fstat(): its default symbol version is newer than glibc 2.17 */
  if (end <= 0) return PX_BIN_MISSING; /* empty, or not seekable (a directory reads as an error below) */
  uint64_t fsize = (uint64_t)end;
  Elf64_Ehdr eh;
  char two[2];
  ssize_t got = pread(fd, two, 2, 0);
  if (got < 0) return PX_BIN_MISSING; /* a directory, or unreadable */
  if (got == 2 && two[0] == '#' && two[1] == '!') return PX_BIN_SCRIPT;
  if (fsize < sizeof eh || pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh) return PX_BIN_OTHER;
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
      eh.e_phnum > 256 || eh.e_phoff >= fsize || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > fsize - eh.e_phoff)
    return PX_BIN_OTHER;
  int dynamic = 0, go = 0;
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph)) != (ssize_t)sizeof ph)
      return PX_BIN_OTHER;
    if (ph.p_type == PT_INTERP) dynamic = 1;
    if (ph.p_type == PT_NOTE && !go) go = has_go_note(fd, &ph, fsize);
  }
  if (go) return dynamic ? PX_BIN_GO_DYNAMIC : PX_BIN_GO_STATIC;
  return dynamic ? PX_BIN_DYNAMIC : PX_BIN_STATIC;
}

static const char *const kind_names[] = {"missing", "script", "dynamic", "static", "go-dynamic", "go-static", "other"};

void px_coverage_report(void) {
  const char *root = getenv("LAMBDA_TASK_ROOT");
  char path[1100];
  const char *candidates[2] = {NULL, "/opt/bootstrap"};
  if (root != NULL && root[0] != '\0' && strlen(root) < 1024) {
    strcpy(path, root);
    strcat(path, "/bootstrap");
  } else {
    strcpy(path, "/var/task/bootstrap");
  }
  candidates[0] = path;
  const char *found = NULL;
  int kind = PX_BIN_MISSING;
  for (int i = 0; i < 2 && found == NULL; i++) {
    int fd = open(candidates[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    kind = px_classify_binary(fd);
    close(fd);
    if (kind != PX_BIN_MISSING) found = candidates[i];
  }
  const char *pre = getenv("LD_PRELOAD");
  int preloaded = pre != NULL && strstr(pre, "libegressguard") != NULL;
  const char *covers = "proxy", *msg;
  switch (kind) {
  case PX_BIN_GO_STATIC:
    msg = "egress proxy ready; the bootstrap is a static Go binary: only traffic sent through HTTPS_PROXY/HTTP_PROXY "
          "is decided and metered, direct connections and lookups are not seen";
    break;
  case PX_BIN_GO_DYNAMIC:
    if (preloaded) {
      covers = "proxy+lookups";
      msg = "egress proxy ready; the bootstrap is a dynamically linked (cgo) Go binary: traffic through "
            "HTTPS_PROXY/HTTP_PROXY and name lookups through libc are decided; direct connections (raw system calls) "
            "are not seen";
    } else {
      msg = "egress proxy ready; the bootstrap is a dynamically linked Go binary but LD_PRELOAD does not load the "
            "guard: only traffic through HTTPS_PROXY/HTTP_PROXY is decided and metered";
    }
    break;
  case PX_BIN_DYNAMIC:
    if (preloaded) {
      covers = "proxy+libc";
      msg = "egress proxy ready; the bootstrap is dynamically linked and the guard is preloaded: everything it does "
            "through libc is decided, and traffic through HTTPS_PROXY/HTTP_PROXY";
    } else {
      msg = "egress proxy ready; LD_PRELOAD does not load the guard: only traffic through HTTPS_PROXY/HTTP_PROXY is "
            "decided and metered";
    }
    break;
  case PX_BIN_SCRIPT:
    if (preloaded) covers = "proxy+libc";
    msg = preloaded ? "egress proxy ready; the bootstrap is a script: dynamically linked programs it starts are "
                      "guarded by the preloaded library, static ones only through HTTPS_PROXY/HTTP_PROXY"
                    : "egress proxy ready; the bootstrap is a script and LD_PRELOAD does not load the guard: only "
                      "traffic through HTTPS_PROXY/HTTP_PROXY is decided and metered";
    break;
  case PX_BIN_MISSING:
    msg = "egress proxy ready; no bootstrap file found (managed runtime or container image): traffic through "
          "HTTPS_PROXY/HTTP_PROXY is decided and metered";
    break;
  default:
    msg = "egress proxy ready; the bootstrap is not a 64-bit little-endian ELF file or a script: only traffic "
          "through HTTPS_PROXY/HTTP_PROXY is decided and metered";
  }
  const char *kv[] = {
      "listen", px.listen_text, "bootstrap", found ? found : candidates[0], "bootstrapKind", kind_names[kind],
      "covers", covers,         NULL};
  px_log_event(kind == PX_BIN_GO_STATIC || kind == PX_BIN_GO_DYNAMIC ? 40 : 30, "proxy", msg, kv);
}
