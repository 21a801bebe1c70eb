/* buf.h — a growable byte buffer with a consumed prefix, used for socket
 * output queues, message assembly and log records.
 *
 * Bytes live in data[off .. len); appending grows the allocation, consuming
 * advances `off`, and the space before `off` is reclaimed when it passes half
 * the buffer, so a queue that is written and drained forever stays bounded by
 * its peak contents.
 */
#ifndef AIRLOCK_BUF_H
#define AIRLOCK_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t off; /* first unconsumed byte */
	size_t len; /* end of valid bytes */
	size_t cap;
};

#define BUF_INIT                                                                                   \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}

/* Number of unconsumed bytes. */
static inline size_t buf_used(const struct buf *b)
{
	return b->len - b->off;
}

/* Pointer to the first unconsumed byte (NULL when empty and never grown). */
static inline uint8_t *buf_head(const struct buf *b)
{
	return b->data ? b->data + b->off : NULL;
}

/* Makes room for `extra` more bytes. Returns 0 or -ENOMEM (buffer unchanged). */
int buf_reserve(struct buf *b, size_t extra);

/* Appends `n` bytes. Returns 0 or -ENOMEM (buffer unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);

/* Appends a string and its terminating NUL. Returns 0 or -ENOMEM. */
int buf_append_strz(struct buf *b, const char *s);

/* Appends printf output without a NUL. Returns 0, -ENOMEM or -EINVAL. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Little-endian fixed-width appends for binary formats. 0 or -ENOMEM. */
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u16(struct buf *b, uint16_t v);
int buf_put_u32(struct buf *b, uint32_t v);

/* Drops `n` bytes (at most buf_used) from the front. */
void buf_consume(struct buf *b, size_t n);

/* Empties the buffer, keeping its allocation. */
void buf_reset(struct buf *b);

/* Frees the allocation; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);

#endif
