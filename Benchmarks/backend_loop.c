/* The baseline of the backend micro-benchmark: per operation, open a session file, flock it,
   read it, bump its counter, rewrite it in place and truncate it (PHP's way, the cheapest
   write the kernel offers), close it. 1,000 sessions picked at random; prints operations/s.
   usage: backend_loop DIRECTORY [SECONDS] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    const char *directory = argc > 1 ? argv[1] : "/tmp/backend-loop-c";
    double seconds = argc > 2 ? atof(argv[2]) : 3;
    char path[4096], buffer[4096];
    mkdir(directory, 0700);
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof path, "%s/s_%04d", directory, i);
        int fd = open(path, O_RDWR | O_CREAT, 0600);
        int length = snprintf(buffer, sizeof buffer, "{\"n\":0}");
        pwrite(fd, buffer, length, 0);
        close(fd);
    }
    long operations = 0;
    double start = now();
    while (now() - start < seconds) {
        for (int k = 0; k < 1000; k++) {
            snprintf(path, sizeof path, "%s/s_%04d", directory, rand() % 1000);
            int fd = open(path, O_RDWR | O_CREAT, 0600);
            flock(fd, LOCK_EX);
            ssize_t got = pread(fd, buffer, sizeof buffer - 1, 0);
            long n = 0;
            if (got > 0) { buffer[got] = 0; sscanf(buffer, "{\"n\":%ld}", &n); }
            int length = snprintf(buffer, sizeof buffer, "{\"n\":%ld}", n + 1);
            pwrite(fd, buffer, length, 0);
            ftruncate(fd, length);
            close(fd);
            operations++;
        }
    }
    printf("%ld\n", (long)(operations / (now() - start)));
    return 0;
}
