/* The cheapest libfcgi responder: the baseline every Swift figure is a ratio of.
   usage: bare_responder SOCKET_PATH WORKERS
   Threads accept without a mutex, as ours do (Linux needs none). */
#include <fcgiapp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int listen_socket;

static void *serve(void *unused) {
    (void)unused;
    FCGX_Request request;
    FCGX_InitRequest(&request, listen_socket, 0);
    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutS("Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nmethod: GET\npath: /\n", request.out);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int workers = atoi(argv[2]);
    FCGX_Init();
    unlink(argv[1]);
    listen_socket = FCGX_OpenSocket(argv[1], 1024);
    chmod(argv[1], 0666);
    pthread_t threads[256];
    for (int i = 0; i < workers && i < 256; i++) pthread_create(&threads[i], NULL, serve, NULL);
    for (int i = 0; i < workers && i < 256; i++) pthread_join(threads[i], NULL);
    return 0;
}
