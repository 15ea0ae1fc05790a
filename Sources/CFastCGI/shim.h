#ifndef OBSESSION_CFASTCGI_SHIM_H
#define OBSESSION_CFASTCGI_SHIM_H

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Asks the kernel to send this process `number` when the thread that forked it dies: a
   supervisor's worker processes then stop with their master. (prctl is variadic, which Swift
   cannot call.) */
static inline int obsession_set_parent_death_signal(int number) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)number, 0UL, 0UL, 0UL);
}

/* Accepts a connection on `listening` that closes on exec, and writes its peer's address to
   `peer`: accept4 with SOCK_CLOEXEC (which is O_CLOEXEC), called by number because glibc
   declares accept4 only for _GNU_SOURCE, which its Swift module is built without. -1 with errno
   set. */
static inline int obsession_accept(int listening, struct sockaddr_storage *peer) {
    socklen_t length = sizeof *peer;
    return (int)syscall(SYS_accept4, listening, peer, &length, O_CLOEXEC);
}

/* Bytes that arrived on `descriptor` and are not read yet, or -1 (ioctl is variadic too). */
static inline int obsession_unread_bytes(int descriptor) {
    int count = 0;
    return ioctl(descriptor, FIONREAD, &count) == 0 ? count : -1;
}

/* An epoll set holding `listening`, which wakes one waiting set per connection
   (EPOLLEXCLUSIVE), and `shutdown`, which wakes them all; -1 with errno set if it cannot be made.
   (struct epoll_event is packed, which Swift does not lay out.) */
static inline int obsession_connection_wait_create(int listening, int shutdown) {
    int set = epoll_create1(EPOLL_CLOEXEC);
    if (set < 0) return -1;
    struct epoll_event connection = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = listening };
    struct epoll_event stop = { .events = EPOLLIN, .data.fd = shutdown };
    if (epoll_ctl(set, EPOLL_CTL_ADD, listening, &connection) != 0 || epoll_ctl(set, EPOLL_CTL_ADD, shutdown, &stop) != 0) {
        int cause = errno;
        close(set);
        errno = cause;
        return -1;
    }
    return set;
}

/* Waits on a set from obsession_connection_wait_create: 2 once `shutdown` is readable, 1 for a
   connection, 0 when `milliseconds` passed, -1 with errno set on an error. */
static inline int obsession_connection_wait(int set, int shutdown, int milliseconds) {
    struct epoll_event events[2];
    int ready = epoll_wait(set, events, 2, milliseconds);
    if (ready <= 0) return ready;
    for (int index = 0; index < ready; index++)
        if (events[index].data.fd == shutdown) return 2;
    return 1;
}

/* Opens `path` relative to the directory open at `directory`, as openat(2) does: no path is
   looked up again from the root for each file of a directory being walked. (openat is
   variadic, which Swift cannot call.) */
static inline int obsession_openat(int directory, const char *path, int flags) {
    return openat(directory, path, flags);
}

/* Relaxed atomic arithmetic on a counter in memory that processes share (a scoreboard mapped
   before fork), where Swift's Atomic cannot be placed. */
static inline long obsession_shared_add(long *counter, long amount) {
    return __atomic_add_fetch(counter, amount, __ATOMIC_RELAXED);
}
static inline long obsession_shared_load(long *counter) {
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}
static inline void obsession_shared_store(long *counter, long value) {
    __atomic_store_n(counter, value, __ATOMIC_RELAXED);
}
static inline int obsession_shared_claim(long *counter, long expected, long desired) {
    return __atomic_compare_exchange_n(counter, &expected, desired, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

#endif
