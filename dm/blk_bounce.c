/* blk_bounce.c — the bounded pool of aligned bounce buffers.
 *
 * With O_DIRECT the kernel wants every buffer's address and length aligned
 * to the logical block size; guests do not promise that (SeaBIOS reads into
 * unaligned buffers). Such a request is moved through one buffer of this
 * pool (blk_io.c moves it in windows of the buffer's size, so any request
 * fits). The pool holds BLK_BOUNCE_BUFS buffers of BLK_BOUNCE_SIZE bytes:
 * 2 MiB per device at most, and nothing for guests whose buffers are
 * aligned (Linux's are), because a buffer is allocated the first time it is
 * lent and kept until blk_close. When all are lent the caller waits for one
 * to come back (the io_uring path queues the request): memory never grows
 * with the guest's demand.
 */
#include <stdlib.h>

#include "dm/blk_int.h"

int blk_bounce_get(struct blk_bounce *b)
{
	for (unsigned int i = 0; i < BLK_BOUNCE_BUFS; i++) {
		if (b->busy & (1u << i))
			continue;
		if (!b->buf[i] && posix_memalign(&b->buf[i], 4096, BLK_BOUNCE_SIZE) != 0) {
			b->buf[i] = NULL;
			return -1;
		}
		b->busy |= 1u << i;
		return (int)i;
	}
	return -1;
}

void *blk_bounce_buf(struct blk_bounce *b, int i)
{
	return b->buf[i];
}

void blk_bounce_put(struct blk_bounce *b, int i)
{
	b->busy &= ~(1u << i);
}

void blk_bounce_free(struct blk_bounce *b)
{
	for (unsigned int i = 0; i < BLK_BOUNCE_BUFS; i++) {
		free(b->buf[i]);
		b->buf[i] = NULL;
	}
	b->busy = 0;
}
