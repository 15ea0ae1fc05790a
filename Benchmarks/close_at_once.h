/* What our worker does before FCGX_Finish_r (Sources/FastCGI/FastCGIWorker.swift), for the C
   responders that measure against it: when the web server has sent all it will (the request's
   input read to its end, nothing after it, the connection not kept), FCGX_Detach makes libfcgi
   close at once instead of waiting, up to 2 s, for the web server to close first. */
#include <fcgiapp.h>
#include <sys/ioctl.h>

static void close_at_once_if_done(FCGX_Request *request) {
    char rest[512];
    while (FCGX_GetStr(rest, sizeof rest, request->in) > 0) {}
    int unread = -1;
    if (!request->keepConnection && FCGX_HasSeenEOF(request->in) && ioctl(request->ipcFd, FIONREAD, &unread) == 0 && unread == 0)
        FCGX_Detach(request);
}
