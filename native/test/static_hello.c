/* static_hello — linked with -static (no ELF interpreter): LD_PRELOAD cannot load into it. */
#include <unistd.h>
int main(void) { return write(1, "{\"static\":\"ran\"}\n", 17) == 17 ? 0 : 1; }
