/*
 * dnsio.h — sendfile and splice into a raw-DNS socket (contract at the top of dnsio.c). For files that define
 * _GNU_SOURCE (loff_t).
 */
#ifndef EG_DNSIO_H
#define EG_DNSIO_H

#include <fcntl.h>
#include <sys/types.h>

#include "guard.h"

/* How dnsio.c sends the copy it decided: the write family's own write, with its byte budgets (write.c). */
typedef ssize_t (*eg_dns_send_fn)(int fd, const void *buf, size_t n, const char *call);
ssize_t eg_write_out(int fd, const void *buf, size_t n, const char *call) EG_HIDDEN;

/* 0: not a raw-DNS datagram, make the real call; 1: made here, *ret (and errno) as the real call's. */
int eg_dns_sendfile(int out, int in, off_t *off, size_t count, const char *call, eg_dns_send_fn send,
                    ssize_t *ret) EG_HIDDEN;
int eg_dns_splice(int in, loff_t *off_in, int out, size_t len, unsigned int flags, const char *call,
                  eg_dns_send_fn send, ssize_t *ret) EG_HIDDEN;

#endif
