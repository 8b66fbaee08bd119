/*
 * real.c — the next definition of every hooked symbol (dlsym(RTLD_NEXT, name)), resolved lazily on first use. The
 * names come from hooks.def, so they cannot drift from the hooks.
 *
 * Contract: eg_real(id) never aborts. A NULL result, or a pointer back into this library (dlsym can hand back our own
 * hook when nothing follows us in the lookup scope), is cached as "unavailable" and NULL is returned; the caller then
 * fails that one call with ENOSYS (or EAI_SYSTEM) — a loud error instead of the infinite recursion or abort() other
 * interposers use. Concurrent first calls may both resolve; they store the same value (relaxed atomics).
 * "Back into this library" is an address test against this object's own extent, from its ELF header (__ehdr_start)
 * to the end of its bss (_end): both are resolved by the static linker to this object (the version script keeps them
 * local), so the test costs two compares. (dladdr would answer the same but scans the whole symbol table of the
 * object holding the address — libc's, thousands of symbols — once per resolved name: ≈ 10 % of a guarded process's
 * start-up before.)
 * dlsym is pinned to its GLIBC_2.2.5 / GLIBC_2.17 version by symver.h so the library loads on glibc 2.17+
 * (docs/LAMBDA.md "glibc and architectures").
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>

#include "hook.h"

static const char *const names[EG_HOOK_COUNT] = {
#define HOOK(name, ret, params) [EG_HOOK_##name] = #name,
#include "hooks.def"
#undef HOOK
};

#define UNAVAILABLE ((void *)(uintptr_t)1)
static void *cache[EG_HOOK_COUNT];

extern const char __ehdr_start[]; /* this object's first byte (GNU ld, gold and lld define it) */
extern char _end[];               /* one past its last byte (the end of its bss) */

static int in_this_object(const void *f) {
  uintptr_t a = (uintptr_t)f;
  return a >= (uintptr_t)__ehdr_start && a < (uintptr_t)_end;
}

void *eg_real(int id) {
  void *f = __atomic_load_n(&cache[id], __ATOMIC_RELAXED);
  if (EG_LIKELY(f != NULL)) return f == UNAVAILABLE ? NULL : f;
  eg_enter(); /* dlsym may allocate or take locks: keep anything it calls out of the hooks */
  f = dlsym(RTLD_NEXT, names[id]);
  if (f != NULL && in_this_object(f)) f = NULL; /* our own hook: circular */
  eg_leave();
  __atomic_store_n(&cache[id], f != NULL ? f : UNAVAILABLE, __ATOMIC_RELAXED);
  return f;
}

long eg_raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
  eg_syscall_fn real = EG_REAL(syscall);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  return real(nr, a1, a2, a3, a4, a5, a6);
}
