/* memscan — what an intruder in a stub domain could read, searched for a
 * canary (tests/blackbox/stubdom_contain.sh).
 *
 *   memscan NEEDLE_HEX [-l BYTES] PATH [-l BYTES] PATH...
 *
 * NEEDLE_HEX is the canary hex-encoded, so the shell that runs memscan
 * never holds the canary itself. Each PATH is searched whole, or its first
 * BYTES after "-l BYTES" (0: whole again), and reported on one line:
 *
 *   scan PATH bytes=N found=OFFSET|none how=mmap|read|maps errors=N
 *
 * or "scan PATH open-failed errno=E". A file is mapped 16 MiB at a time
 * (PCI BARs through /sys/bus/pci/devices/.../resourceN, which cannot be
 * read()), else read(); /proc/PID/mem is searched through every readable
 * range of /proc/PID/maps (memscan's own is skipped, it holds the needle).
 *
 * Built freestanding (no libc: a few KiB) so that the test can type it into
 * the stub's root shell, the way an intruder would bring a tool:
 *   cc -static -nostdlib -ffreestanding -fno-stack-protector
 *      -fno-tree-loop-distribute-patterns -O2 -s
 */
#define CHUNK (16L << 20)
#define MAXNEEDLE 128

enum { SYS_read = 0, SYS_write = 1, SYS_close = 3, SYS_fstat = 5, SYS_mmap = 9,
       SYS_munmap = 11, SYS_pread64 = 17, SYS_getpid = 39, SYS_exit_group = 231,
       SYS_openat = 257 };

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static unsigned char needle[MAXNEEDLE];
static long nlen;
static unsigned char buf[1 << 20];
static long self;
static long limit; /* -l: bytes of each file searched at most; 0: all */

static long slen(const char *s)
{
	long n = 0;

	while (s[n])
		n++;
	return n;
}

static void out(const char *s)
{
	sys3(SYS_write, 1, s, slen(s));
}

static void out_num(unsigned long v)
{
	char d[24];
	int i = sizeof(d) - 1;

	d[i] = '\0';
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out(d + i);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The first offset of the needle in h[0..len), or -1. Eight bytes at a
 * time while none of them is the needle's first byte (most of a guest's RAM
 * is zero pages). */
static long find(const unsigned char *h, long len)
{
	const unsigned long ones = 0x0101010101010101UL, highs = 0x8080808080808080UL;
	unsigned long pat = ones * needle[0], w;
	long i = 0, k;

	while (i + nlen <= len) {
		while (i + 8 <= len) {
			__builtin_memcpy(&w, h + i, 8);
			w ^= pat;
			if ((w - ones) & ~w & highs)
				break;
			i += 8;
		}
		if (i + nlen > len)
			break;
		for (k = 0; k < nlen && h[i + k] == needle[k]; k++)
			;
		if (k == nlen)
			return i;
		i++;
	}
	return -1;
}

/* A stream searched piece by piece: the last nlen-1 bytes of the previous
 * piece are kept so that a needle across two pieces is found too. */
struct stream {
	unsigned long pos; /* bytes fed so far */
	long found;	   /* absolute offset, or -1 */
	unsigned char tail[2 * MAXNEEDLE];
	long ntail;
};

static void feed(struct stream *s, const unsigned char *p, long n)
{
	long k, m = n < nlen - 1 ? n : nlen - 1;

	if (s->found < 0 && s->ntail > 0) {
		for (k = 0; k < m; k++)
			s->tail[s->ntail + k] = p[k];
		k = find(s->tail, s->ntail + m);
		if (k >= 0)
			s->found = (long)(s->pos - (unsigned long)s->ntail) + k;
	}
	if (s->found < 0) {
		k = find(p, n);
		if (k >= 0)
			s->found = (long)s->pos + k;
	}
	s->pos += (unsigned long)n;
	/* keep the last nlen-1 bytes of everything fed */
	if (n >= nlen - 1) {
		for (k = 0; k < nlen - 1; k++)
			s->tail[k] = p[n - (nlen - 1) + k];
		s->ntail = nlen - 1;
	} else {
		long drop = s->ntail + n - (nlen - 1);

		if (drop > 0) {
			for (k = 0; k + drop < s->ntail; k++)
				s->tail[k] = s->tail[k + drop];
			s->ntail -= drop;
		}
		for (k = 0; k < n; k++)
			s->tail[s->ntail + k] = p[k];
		s->ntail += n;
	}
}

static void report(const char *path, struct stream *s, const char *how, long errors)
{
	out("scan ");
	out(path);
	out(" bytes=");
	out_num(s->pos);
	out(" found=");
	if (s->found >= 0)
		out_num((unsigned long)s->found);
	else
		out("none");
	out(" how=");
	out(how);
	out(" errors=");
	out_num((unsigned long)errors);
	out("\n");
}

/* st_size of an open file (struct stat's offset 48 on x86-64). */
static long file_size(int fd)
{
	unsigned long st[18];

	if (sys3(SYS_fstat, fd, st, 0) < 0)
		return -1;
	return (long)st[6];
}

static void scan_file(const char *path)
{
	struct stream s = {.found = -1};
	long fd = sys3(SYS_openat, -100, path, 0), size, n = 0, errors = 0;
	const char *how = "read";

	if (fd < 0) {
		out("scan ");
		out(path);
		out(" open-failed errno=");
		out_num((unsigned long)-fd);
		out("\n");
		return;
	}
	size = file_size((int)fd);
	if (limit > 0 && size > limit)
		size = limit;
	for (long off = 0; size > 0 && off < size; off += CHUNK) {
		long len = size - off < CHUNK ? size - off : CHUNK;
		long p = sys6(SYS_mmap, 0, len, 1 /* PROT_READ */, 1 /* MAP_SHARED */, fd, off);

		if (p < 0 && p > -4096)
			break;
		how = "mmap";
		feed(&s, (const unsigned char *)p, len);
		sys3(SYS_munmap, p, len, 0);
	}
	if (s.pos == 0) {
		long want = sizeof(buf);

		while (want > 0 && (n = sys3(SYS_read, fd, buf, want)) > 0) {
			feed(&s, buf, n);
			if (limit > 0 && limit - (long)s.pos < want)
				want = limit - (long)s.pos;
		}
		if (n < 0)
			errors++;
	}
	sys3(SYS_close, fd, 0, 0);
	report(path, &s, how, errors);
}

static unsigned long parse_hex(const char **p)
{
	unsigned long v = 0;
	int d;

	while ((d = hexval(**p)) >= 0) {
		v = v * 16 + (unsigned long)d;
		(*p)++;
	}
	return v;
}

/* /proc/PID/mem: every range of /proc/PID/maps with read permission. */
static void scan_proc_mem(const char *path, long pid)
{
	struct stream s = {.found = -1};
	static char maps[1 << 16];
	long fd, n = 0, r, errors = 0, plen = slen(path);
	char mpath[64];

	if (pid == self)
		return;
	for (long i = 0; i < plen - 3 && i < 50; i++)
		mpath[i] = path[i];
	__builtin_memcpy(mpath + plen - 3, "maps", 5);
	fd = sys3(SYS_openat, -100, mpath, 0);
	if (fd >= 0) {
		while (n < (long)sizeof(maps) - 1 &&
		       (r = sys3(SYS_read, fd, maps + n, sizeof(maps) - 1 - n)) > 0)
			n += r;
		sys3(SYS_close, fd, 0, 0);
	}
	maps[n > 0 ? n : 0] = '\0';
	fd = sys3(SYS_openat, -100, path, 0);
	if (fd < 0) {
		scan_file(path); /* says why */
		return;
	}
	for (const char *p = maps; *p;) {
		unsigned long a = parse_hex(&p), b;

		if (*p++ != '-')
			break;
		b = parse_hex(&p);
		if (*p == ' ' && p[1] == 'r') {
			/* [vsyscall] and the like cannot be read: counted, not fatal */
			for (unsigned long o = a; o < b; o += sizeof(buf)) {
				long len = b - o < sizeof(buf) ? (long)(b - o) : (long)sizeof(buf);

				r = sys6(SYS_pread64, fd, (long)buf, len, (long)o, 0, 0);
				if (r <= 0) {
					errors++;
					break;
				}
				feed(&s, buf, r);
			}
		}
		while (*p && *p != '\n')
			p++;
		if (*p)
			p++;
	}
	sys3(SYS_close, fd, 0, 0);
	report(path, &s, "maps", errors);
}

static long proc_pid(const char *path)
{
	const char *p = path;
	long pid = 0;

	for (const char *q = "/proc/"; *q; q++, p++)
		if (*p != *q)
			return -1;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9')
		pid = pid * 10 + (*p++ - '0');
	for (const char *q = "/mem"; *q; q++, p++)
		if (*p != *q)
			return -1;
	return *p ? -1 : pid;
}

static int run(int argc, char **argv)
{
	const char *h;
	long i;

	if (argc < 3) {
		out("usage: memscan NEEDLE_HEX [-l BYTES] PATH...\n");
		return 2;
	}
	h = argv[1];
	for (i = 0; h[2 * i] && h[2 * i + 1] && i < MAXNEEDLE; i++) {
		int a = hexval(h[2 * i]), b = hexval(h[2 * i + 1]);

		if (a < 0 || b < 0)
			return 2;
		needle[i] = (unsigned char)(a * 16 + b);
	}
	nlen = i;
	if (nlen < 2 || h[2 * i]) {
		out("memscan: the needle is 2 to 128 bytes, hex\n");
		return 2;
	}
	self = sys3(SYS_getpid, 0, 0, 0);
	for (i = 2; i < argc; i++) {
		long pid = proc_pid(argv[i]);

		if (argv[i][0] == '-' && argv[i][1] == 'l' && !argv[i][2] && i + 1 < argc) {
			limit = 0;
			for (const char *p = argv[++i]; *p >= '0' && *p <= '9'; p++)
				limit = limit * 10 + (*p - '0');
			continue;
		}
		if (pid >= 0 && slen(argv[i]) < 40)
			scan_proc_mem(argv[i], pid);
		else
			scan_file(argv[i]);
	}
	return 0;
}

void *memcpy(void *d, const void *s, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n)
{
	unsigned char *dd = d;
	const unsigned char *ss = s;

	while (n--)
		*dd++ = *ss++;
	return d;
}

void *memset(void *d, int c, unsigned long n);
void *memset(void *d, int c, unsigned long n)
{
	unsigned char *dd = d;

	while (n--)
		*dd++ = (unsigned char)c;
	return d;
}

__attribute__((used)) void start_c(long *sp);
__attribute__((used)) void start_c(long *sp)
{
	sys3(SYS_exit_group, run((int)sp[0], (char **)(sp + 1)), 0, 0);
}

__asm__(".globl _start\n_start:\n"
	"  mov %rsp, %rdi\n"
	"  and $-16, %rsp\n"
	"  call start_c\n"
	"  hlt\n");
