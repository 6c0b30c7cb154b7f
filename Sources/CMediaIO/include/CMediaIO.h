// The Linux calls the media listener makes that Swift's Glibc module does not export: epoll, eventfd, sendfile
// and accept4 (a GNU extension). Declarations only; the Swift side decides what to do with each result.
#ifndef CMEDIAIO_H
#define CMEDIAIO_H

#ifdef __linux__
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

/// accept4(2) with the flags given (SOCK_NONBLOCK | SOCK_CLOEXEC): one call instead of accept and two fcntl.
/// A wrapper because accept4 is declared only under _GNU_SOURCE, which this header must not define (it would
/// change system types shared with other modules).
int cmediaio_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
#endif

#endif
