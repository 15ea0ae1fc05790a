#ifndef OBSESSION_CFASTCGI_SHIM_H
#define OBSESSION_CFASTCGI_SHIM_H

#include <fcgiapp.h>

#endif
