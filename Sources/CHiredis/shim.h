#ifndef OBSESSION_CHIREDIS_SHIM_H
#define OBSESSION_CHIREDIS_SHIM_H

/* hiredis, Redis's own C client (Debian's libhiredis-dev): its connection, its command
   formatting and its reply parser, for the Redis session store. */
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#endif
