#define _GNU_SOURCE 1
#include "CMediaIO.h"

#ifdef __linux__
int cmediaio_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}
#endif
