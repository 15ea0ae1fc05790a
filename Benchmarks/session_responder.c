/* The least a file-session responder can do, in C: the reference that shows what the request-
   level targets leave room for on this machine. Per request it opens the session file named by
   the cookie `sid`, reads it (with `write`: under flock, then writes the same bytes back in
   place, as a read-modify-write would) and answers its data; no checksum check, no JSON, no
   expiry. With `create` it ignores the cookie and makes a new session instead, as a request
   without one does: a random id of 40 characters, a new file (O_EXCL) holding a record of the
   size the demo writes for {"n":1}, and its Set-Cookie. It works in the demo's own directory.
   With close-at-once it ends each connection as ours does (close_at_once.h).
   usage: session_responder SOCKET_PATH WORKERS SESSION_DIRECTORY [write | create] [close-at-once] */
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
static int listen_socket, writing, creating, closing_at_once, random_source;
static const char *directory;
static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-";

/* A new session: 30 random bytes as 40 characters of the id alphabet, a new file, its record. */
static void create_session(FCGX_Request *request, char *path, size_t size) {
    unsigned char bytes[30];
    char id[41];
    if (read(random_source, bytes, sizeof bytes) != sizeof bytes) return;
    for (int i = 0; i < 10; i++) {
        unsigned long group = (unsigned long)bytes[3 * i] << 16 | bytes[3 * i + 1] << 8 | bytes[3 * i + 2];
        for (int j = 0; j < 4; j++) id[4 * i + j] = alphabet[(group >> (18 - 6 * j)) & 63];
    }
    id[40] = 0;
    snprintf(path, size, "%s/s_%s", directory, id);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return;
    /* The header's magic and length, then (not computed here) its times and checksum, then the data. */
    static const char record[HEADER + 7] = "OBS1\7\0\0\0" "\0\0\0\0\0\0\0\0" "\0\0\0\0\0\0\0\0" "{\"n\":1}";
    pwrite(fd, record, sizeof record, 0);
    close(fd);
    FCGX_FPrintF(request->out, "Status: 200 OK\r\nSet-Cookie: sid=%s; Path=/; HttpOnly; SameSite=Lax\r\n"
                 "Cache-Control: no-store\r\nVary: Cookie\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n1\n", id);
}

static void *serve(void *unused) {
    (void)unused;
    FCGX_Request request;
    FCGX_InitRequest(&request, listen_socket, 0);
    char path[512], record[4096];
    while (FCGX_Accept_r(&request) >= 0) {
        if (creating) {
            create_session(&request, path, sizeof path);
            if (closing_at_once) close_at_once_if_done(&request);
            FCGX_Finish_r(&request);
            continue;
        }
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
        creating |= strcmp(argv[i], "create") == 0;
        closing_at_once |= strcmp(argv[i], "close-at-once") == 0;
    }
    random_source = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    FCGX_Init();
    unlink(argv[1]);
    listen_socket = FCGX_OpenSocket(argv[1], 1024);
    chmod(argv[1], 0666);
    pthread_t threads[256];
    for (int i = 0; i < workers && i < 256; i++) pthread_create(&threads[i], NULL, serve, NULL);
    for (int i = 0; i < workers && i < 256; i++) pthread_join(threads[i], NULL);
    return 0;
}
