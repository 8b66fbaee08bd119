/*
 * symver.h — force-included into every object of libegressguard.so (and its tools): pins every glibc symbol whose
 * default version on the build host is newer than the oldest glibc we support, so the library loads on glibc 2.17+
 * (Amazon Linux 2 has 2.26, AL2023 2.34; docs/LAMBDA.md "glibc and architectures"). `make -C native symcheck` (and
 * test/native/symbols.test.ts) fail on any GLIBC_ version above 2.17.
 * x86_64 base version is GLIBC_2.2.5; aarch64's is GLIBC_2.17.
 */
#ifndef EG_SYMVER_H
#define EG_SYMVER_H
#if defined(EG_PIN_SYMBOLS)
#if defined(__x86_64__)
#define EG_BASE_VER "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define EG_BASE_VER "GLIBC_2.17"
#else
#error "unsupported architecture"
#endif
__asm__(".symver dlsym,dlsym@" EG_BASE_VER);
__asm__(".symver dladdr,dladdr@" EG_BASE_VER);
__asm__(".symver dlvsym,dlvsym@" EG_BASE_VER); /* sunrpc.c: the Sun RPC client's compat symbols */
__asm__(".symver pthread_sigmask,pthread_sigmask@" EG_BASE_VER);
/* the shipped executables (egress-guard-agent, egress-guard-proxy): glibc 2.34 moved these into libc with a new
 * default version */
__asm__(".symver pthread_create,pthread_create@" EG_BASE_VER);
__asm__(".symver pthread_attr_setstacksize,pthread_attr_setstacksize@" EG_BASE_VER);
#endif
#endif
