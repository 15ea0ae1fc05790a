/* The cheapest libfcgi responder: the baseline every Swift figure is a ratio of.
   usage: bare_responder SOCKET_PATH WORKERS [close-at-once]
   Threads accept without a mutex, as ours do (Linux needs none). With close-at-once it ends
   each connection as ours does (close_at_once.h); without, as libfcgi does. */
#include <fcgiapp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "close_at_once.h"

static int listen_socket, closing_at_once;

static void *serve(void *unused) {
    (void)unused;
    FCGX_Request request;
    FCGX_InitRequest(&request, listen_socket, 0);
    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutS("Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nmethod: GET\npath: /\n", request.out);
        if (closing_at_once) close_at_once_if_done(&request);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int workers = atoi(argv[2]);
    closing_at_once = argc > 3 && strcmp(argv[3], "close-at-once") == 0;
    FCGX_Init();
    unlink(argv[1]);
    listen_socket = FCGX_OpenSocket(argv[1], 1024);
    chmod(argv[1], 0666);
    pthread_t threads[256];
    for (int i = 0; i < workers && i < 256; i++) pthread_create(&threads[i], NULL, serve, NULL);
    for (int i = 0; i < workers && i < 256; i++) pthread_join(threads[i], NULL);
    return 0;
}
