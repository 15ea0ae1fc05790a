#ifndef OBSESSION_CFASTCGI_SHIM_H
#define OBSESSION_CFASTCGI_SHIM_H

#include <fcgiapp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

/* Asks the kernel to send this process `number` when the thread that forked it dies: a
   supervisor's worker processes then stop with their master. (prctl is variadic, which Swift
   cannot call.) */
static inline int obsession_set_parent_death_signal(int number) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)number, 0UL, 0UL, 0UL);
}

/* Bytes that arrived on `descriptor` and are not read yet, or -1 (ioctl is variadic too). */
static inline int obsession_unread_bytes(int descriptor) {
    int count = 0;
    return ioctl(descriptor, FIONREAD, &count) == 0 ? count : -1;
}

#endif
