/* net_iov.h — byte copies over iovec arrays, never past any iov_len.
 * Guest buffers arrive as iovecs from vq_pop; the net device copies
 * headers and frames through these rather than assuming contiguity or
 * alignment.
 */
#ifndef AIRLOCK_DM_NET_IOV_H
#define AIRLOCK_DM_NET_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Copies up to len bytes starting `skip` bytes into the iovecs into buf.
 * Returns the bytes copied (less than len if the iovecs end first). */
size_t net_iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len);

/* Copies up to len bytes of buf into the iovecs, starting `skip` bytes in.
 * Returns the bytes copied. */
size_t net_iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
			size_t len);

/* Points dst[0..k) at bytes [skip, skip + len) of src (at most max
 * entries). Returns k; fewer bytes than len are covered if src ends, or
 * if max entries were not enough (the caller compares totals). */
unsigned int net_iov_slice(const struct iovec *src, unsigned int n, size_t skip, size_t len,
			   struct iovec *dst, unsigned int max);

/* Sum of the iov_len of n entries. */
size_t net_iov_size(const struct iovec *iov, unsigned int n);

#endif
