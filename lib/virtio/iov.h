/* iov.h — byte copies over iovec arrays, never past any iov_len.
 * Guest buffers arrive as iovecs from vq_pop; devices copy headers and
 * frames through these rather than assuming contiguity or alignment
 * (SeaBIOS splits virtio-blk headers at 4-byte boundaries).
 */
#ifndef AIRLOCK_VIRTIO_IOV_H
#define AIRLOCK_VIRTIO_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* Copies up to len bytes starting `skip` bytes into the iovecs into buf.
 * Returns the bytes copied (less than len if the iovecs end first). */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len);

/* Copies up to len bytes of buf into the iovecs, starting `skip` bytes in.
 * Returns the bytes copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
		    size_t len);

/* True if the iovecs hold len bytes from skip on; they are copied to buf
 * (buf is partly filled otherwise). */
bool iov_gather(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len);

/* Points dst[0..k) at bytes [skip, skip + len) of src (at most max
 * entries). Returns k; fewer bytes than len are covered if src ends, or
 * if max entries were not enough (the caller compares totals). */
unsigned int iov_slice(const struct iovec *src, unsigned int n, size_t skip, size_t len,
		       struct iovec *dst, unsigned int max);

/* Sum of the iov_len of n entries. */
size_t iov_size(const struct iovec *iov, unsigned int n);

#endif
