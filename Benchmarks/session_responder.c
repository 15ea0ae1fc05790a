/* The least a file-session responder can do, in C: the reference that shows what the request-
   level targets leave room for on this machine. Per request it opens the session file named by
   the cookie `sid`, reads it (with `write`: under flock, then writes the same bytes back in
   place, as a read-modify-write would) and answers its data; no checksum check, no JSON, no
   expiry, no new sessions. It reads and writes the demo's own session files.
   With close-at-once it ends each connection as ours does (close_at_once.h).
   usage: session_responder SOCKET_PATH WORKERS SESSION_DIRECTORY [write] [close-at-once] */
#include <fcgiapp.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "close_at_once.h"

enum { HEADER = 24 }; /* Sources/Obsession/SessionRecord.swift */
static int listen_socket, writing, closing_at_once;
static const char *directory;

static void *serve(void *unused) {
    (void)unused;
    FCGX_Request request;
    FCGX_InitRequest(&request, listen_socket, 0);
    char path[512], record[4096];
    while (FCGX_Accept_r(&request) >= 0) {
        const char *cookie = FCGX_GetParam("HTTP_COOKIE", request.envp);
        const char *id = cookie ? strstr(cookie, "sid=") : NULL;
        ssize_t length = 0;
        if (id) {
            snprintf(path, sizeof path, "%s/s_%.40s", directory, id + 4);
            int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
            struct stat status;
            if (fd >= 0 && fstat(fd, &status) == 0) {
                if (writing) flock(fd, LOCK_EX);
                length = pread(fd, record, status.st_size < (off_t)sizeof record ? status.st_size : (off_t)sizeof record, 0);
                if (writing && length > 0) pwrite(fd, record, length, 0);
            }
            if (fd >= 0) close(fd);
        }
        int data = length > HEADER ? (int)(length - HEADER) : 0;
        FCGX_FPrintF(request.out, "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n%.*s\n", data, record + HEADER);
        if (closing_at_once) close_at_once_if_done(&request);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int workers = atoi(argv[2]);
    directory = argv[3];
    for (int i = 4; i < argc; i++) {
        writing |= strcmp(argv[i], "write") == 0;
        closing_at_once |= strcmp(argv[i], "close-at-once") == 0;
    }
    FCGX_Init();
    unlink(argv[1]);
    listen_socket = FCGX_OpenSocket(argv[1], 1024);
    chmod(argv[1], 0666);
    pthread_t threads[256];
    for (int i = 0; i < workers && i < 256; i++) pthread_create(&threads[i], NULL, serve, NULL);
    for (int i = 0; i < workers && i < 256; i++) pthread_join(threads[i], NULL);
    return 0;
}
