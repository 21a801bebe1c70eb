/* iov.c — see iov.h. */
#include "virtio/iov.h"

#include <stdint.h>
#include <string.h>

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len)
{
	uint8_t *d = buf;
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		size_t k = l - skip < len - done ? l - skip : len - done;
		memcpy(d + done, (const uint8_t *)iov[i].iov_base + skip, k);
		done += k;
		skip = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
		    size_t len)
{
	const uint8_t *s = buf;
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		size_t k = l - skip < len - done ? l - skip : len - done;
		memcpy((uint8_t *)iov[i].iov_base + skip, s + done, k);
		done += k;
		skip = 0;
	}
	return done;
}

bool iov_gather(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len)
{
	return iov_to_buf(iov, n, skip, buf, len) == len;
}

unsigned int iov_slice(const struct iovec *src, unsigned int n, size_t skip, size_t len,
		       struct iovec *dst, unsigned int max)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len > 0 && k < max; i++) {
		size_t l = src[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		size_t take = l - skip < len ? l - skip : len;
		dst[k].iov_base = (uint8_t *)src[i].iov_base + skip;
		dst[k].iov_len = take;
		k++;
		skip = 0;
		len -= take;
	}
	return k;
}

size_t iov_size(const struct iovec *iov, unsigned int n)
{
	size_t t = 0;
	for (unsigned int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}
