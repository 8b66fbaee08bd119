/*
 * exe_start.c — the entry point (_start) of the executables shipped in the layer (egress-guard-proxy; linked with
 * -nostartfiles), so they run on glibc 2.17+ like the library (docs/LAMBDA.md "glibc and architectures").
 *
 * Why: the C runtime start file of a glibc >= 2.34 build host calls __libc_start_main@GLIBC_2.34, which Amazon
 * Linux 2 (glibc 2.26) does not have: such a binary does not even start there. This _start is glibc's own
 * (sysdeps/x86_64/start.S, sysdeps/aarch64/start.S) calling the base version of __libc_start_main, which every glibc
 * still exports. init/fini are passed as NULL: these programs have no constructors of their own (glibc >= 2.34 runs
 * the program's init arrays itself when init is NULL; older ones never needed them for a program without any).
 * `make -C native symcheck` checks the result.
 */
#if defined(__x86_64__)
__asm__(".symver __libc_start_main,__libc_start_main@GLIBC_2.2.5\n"
        ".text\n"
        ".globl _start\n"
        ".type _start,@function\n"
        "_start:\n"
        "  .cfi_startproc\n"
        "  .cfi_undefined rip\n"
        "  xorl %ebp, %ebp\n"
        "  movq %rdx, %r9\n"  /* rtld_fini from the dynamic linker */
        "  popq %rsi\n"       /* argc */
        "  movq %rsp, %rdx\n" /* argv */
        "  andq $~15, %rsp\n"
        "  pushq %rax\n"
        "  pushq %rsp\n"      /* stack_end */
        "  xorl %r8d, %r8d\n" /* fini */
        "  xorl %ecx, %ecx\n" /* init */
        "  movq main@GOTPCREL(%rip), %rdi\n"
        "  call *__libc_start_main@GOTPCREL(%rip)\n"
        "  hlt\n"
        "  .cfi_endproc\n"
        ".size _start, .-_start\n");
#elif defined(__aarch64__)
__asm__(".symver __libc_start_main,__libc_start_main@GLIBC_2.17\n"
        ".text\n"
        ".globl _start\n"
        ".type _start,%function\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x5, x0\n"     /* rtld_fini */
        "  ldr x1, [sp]\n"   /* argc */
        "  add x2, sp, #8\n" /* argv */
        "  mov x6, sp\n"     /* stack_end */
        "  adrp x0, :got:main\n"
        "  ldr x0, [x0, #:got_lo12:main]\n"
        "  mov x3, #0\n" /* init */
        "  mov x4, #0\n" /* fini */
        "  bl __libc_start_main\n"
        "  bl abort\n"
        ".size _start, .-_start\n");
#else
#error "unsupported architecture"
#endif
