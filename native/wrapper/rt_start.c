/*
 * rt_start.c — _start, the system calls and the memory functions of the exec wrapper (contracts in rt.h).
 * The compiler may emit calls to memcpy, memmove, memset and memcmp for plain C; they and strlen are defined here
 * (built with -fno-tree-loop-distribute-patterns so their loops are never turned back into calls to themselves).
 */
#include <asm/unistd.h>
#include <elf.h>
#include <linux/fcntl.h>
#include <linux/mman.h>

#include "rt.h"

#if defined(__x86_64__)
__asm__(".text\n"
        ".globl _start\n"
        ".type _start,@function\n"
        "_start:\n"
        "  xorl %ebp, %ebp\n"
        "  movq %rsp, %rdi\n" /* argc, argv…, NULL, envp…, NULL */
        "  andq $-16, %rsp\n"
        "  call rt_entry\n"
        "  hlt\n"
        ".size _start, .-_start\n");

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl _start\n"
        ".type _start,%function\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n" /* argc, argv…, NULL, envp…, NULL; sp is 16-byte aligned at entry */
        "  bl rt_entry\n"
        "  brk #0\n"
        ".size _start, .-_start\n");

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}
#else
#error "unsupported architecture"
#endif

#if defined(__x86_64__)
#define R_RELATIVE R_X86_64_RELATIVE
#else
#define R_RELATIVE R_AARCH64_RELATIVE
#endif
#define EXIT_CANNOT_START 127

/* This program's ELF header and dynamic section, addressed relative to the code (hidden: no GOT, no relocation). */
extern const Elf64_Ehdr __ehdr_start __attribute__((visibility("hidden")));
extern const Elf64_Dyn _DYNAMIC[] __attribute__((visibility("hidden")));

/*
 * What the dynamic loader does for a position-independent program, done here (there is none): every relocation is
 * R_*_RELATIVE (the program refers to nothing outside itself; anything else stops it: exit 127), applied at the load
 * address; then the RELRO segment becomes read-only (full RELRO). Runs before anything reads a relocated pointer,
 * and reads none itself.
 */
static void relocate(void) {
  uintptr_t base = (uintptr_t)&__ehdr_start; /* linked at 0 */
  const Elf64_Rela *rela = NULL;
  size_t n = 0;
  for (const Elf64_Dyn *d = _DYNAMIC; d->d_tag != DT_NULL; d++) {
    if (d->d_tag == DT_RELA) rela = (const Elf64_Rela *)(base + d->d_un.d_ptr);
    else if (d->d_tag == DT_RELASZ) n = d->d_un.d_val / sizeof(Elf64_Rela);
    else if (d->d_tag == DT_REL || d->d_tag == DT_JMPREL || d->d_tag == DT_NEEDED) rt_exit(EXIT_CANNOT_START);
  }
  if (rela == NULL) n = 0;
  for (size_t i = 0; i < n; i++) {
    if (ELF64_R_TYPE(rela[i].r_info) != R_RELATIVE) rt_exit(EXIT_CANNOT_START);
    *(uint64_t *)(base + rela[i].r_offset) = base + (uint64_t)rela[i].r_addend;
  }
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + __ehdr_start.e_phoff);
  for (int i = 0; i < __ehdr_start.e_phnum; i++) {
    if (ph[i].p_type != PT_GNU_RELRO) continue;
    uintptr_t from = (base + ph[i].p_vaddr) & ~(uintptr_t)4095,
              to = (base + ph[i].p_vaddr + ph[i].p_memsz) & ~(uintptr_t)4095;
    if (to > from) sys6(__NR_mprotect, (long)from, (long)(to - from), PROT_READ, 0, 0, 0);
  }
}

/* Called by _start only (not static: the assembly names it). */
_Noreturn void rt_entry(long *sp);
_Noreturn void rt_entry(long *sp) {
  relocate();
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  rt_exit(wr_main(argc, argv, argv + argc + 1));
}

long rt_write(int fd, const void *buf, size_t len) { return sys6(__NR_write, fd, (long)buf, (long)len, 0, 0, 0); }

long rt_faccessat(const char *path, int mode) { return sys6(__NR_faccessat, AT_FDCWD, (long)path, mode, 0, 0, 0); }

long rt_stat_id(const char *path, uint64_t *dev, uint64_t *ino) {
  /* struct stat of x86_64 and of the generic ABI (aarch64) both start with st_dev and st_ino, 64 bits each; both
   * structures are at most 144 bytes. */
  uint64_t st[32] = {0};
  long r = sys6(__NR_newfstatat, AT_FDCWD, (long)path, (long)st, 0, 0, 0);
  if (r == 0) *dev = st[0], *ino = st[1];
  return r;
}

long rt_execve(const char *path, char *const argv[], char *const envp[]) {
  return sys6(__NR_execve, (long)path, (long)argv, (long)envp, 0, 0, 0);
}

long rt_getpid(void) { return sys6(__NR_getpid, 0, 0, 0, 0, 0, 0); }

uint64_t rt_realtime_ms(void) {
  long long ts[2] = {0, 0}; /* struct __kernel_timespec on a 64-bit architecture */
  sys6(__NR_clock_gettime, 0 /* CLOCK_REALTIME */, (long)ts, 0, 0, 0, 0);
  return (uint64_t)ts[0] * 1000u + (uint64_t)ts[1] / 1000000u;
}

void *rt_mmap_anon(size_t len) {
  long r = sys6(__NR_mmap, 0, (long)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return r < 0 && r > -4096 ? NULL : (void *)r;
}

_Noreturn void rt_exit(int status) {
  for (;;) sys6(__NR_exit_group, status, 0, 0, 0, 0, 0);
}

size_t strlen(const char *s);
size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n] != '\0') n++;
  return n;
}

int rt_streq(const char *a, const char *b) {
  while (*a != '\0' && *a == *b) a++, b++;
  return *a == *b;
}

char *rt_strchr(const char *s, int c) {
  for (;; s++) {
    if (*s == (char)c) return (char *)s;
    if (*s == '\0') return NULL;
  }
}

void *rt_alloc(size_t len) {
  static _Alignas(16) unsigned char arena[64 * 1024];
  static size_t used;
  len = (len + 15) & ~(size_t)15;
  if (len <= sizeof arena - used) {
    void *p = arena + used;
    used += len;
    return p;
  }
  return rt_mmap_anon(len);
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n-- > 0) *d++ = *s++;
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d < s) {
    while (n-- > 0) *d++ = *s++;
  } else {
    while (n-- > 0) d[n] = s[n];
  }
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  while (n-- > 0) *d++ = (unsigned char)c;
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (; n > 0; n--, x++, y++)
    if (*x != *y) return *x < *y ? -1 : 1;
  return 0;
}
