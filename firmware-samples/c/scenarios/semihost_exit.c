/* run-semihost-exit (`isrscope run`): the firmware writes to the host console through
 * semihosting (SYS_WRITE0, SYS_WRITEC, and SYS_WRITE on ":tt" opened for writing), then
 * ends with SYS_EXIT_EXTENDED (ADP_Stopped_ApplicationExit, status 3): the runner
 * prints the text as it comes and exits with 3. */
#include "lab.h"

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

int main(void)
{
    static const char mode_w[] = ":tt";
    semihost(0x04, "hello from SYS_WRITE0\n"); /* SYS_WRITE0 */
    semihost(0x03, "!");                       /* SYS_WRITEC */
    semihost(0x03, "\n");
    const void *open_args[3] = {mode_w, (const void *)4, (const void *)3}; /* "w" */
    int fd = semihost(0x01, open_args);                                  /* SYS_OPEN */
    static const char line[] = "written with SYS_WRITE\n";
    const void *write_args[3] = {(const void *)fd, line, (const void *)(sizeof line - 1)};
    semihost(0x05, write_args); /* SYS_WRITE */
    const void *exit_args[2] = {(const void *)0x20026, (const void *)3};
    semihost(0x20, exit_args); /* SYS_EXIT_EXTENDED: ApplicationExit, status 3 */
    for (;;) {
    }
}
