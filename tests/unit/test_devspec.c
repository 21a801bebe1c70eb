/* test_devspec — airlock-dm's --device grammar (dm/devspec.c). */
#include "dm/devspec.h"
#include "tap.h"

static int parse(const char *s, struct dm_devspec *d, char *err)
{
	return dm_devspec_parse(s, d, err, 256);
}

static void test_blk(void)
{
	struct dm_devspec d;
	char err[256];

	CHECK_EQ_INT(parse("blk,fd=5,file=/a b.img", &d, err), 0);
	CHECK_EQ_INT(d.kind, DM_KIND_BLK);
	CHECK_EQ_INT(d.listen_fd, 5);
	CHECK(d.socket_path == NULL);
	CHECK_EQ_STR(d.file, "/a b.img");
	CHECK(!d.read_only);
	dm_devspec_free(&d);
	CHECK_EQ_INT(parse("blk,socket=/run/s,file=x,read-only=on", &d, err), 0);
	CHECK_EQ_STR(d.socket_path, "/run/s");
	CHECK_EQ_INT(d.listen_fd, -1);
	CHECK(d.read_only);
	dm_devspec_free(&d);
}

static void test_net(void)
{
	struct dm_devspec d;
	char err[256];

	CHECK_EQ_INT(parse("net,fd=3,tap-fd=7,mac=00:16:3e:0A:bb:01,mtu=9000", &d, err), 0);
	CHECK_EQ_INT(d.kind, DM_KIND_NET);
	CHECK_EQ_INT(d.tap_fd, 7);
	CHECK_EQ_INT(d.stream_fd, -1);
	CHECK(d.mac_set && d.mac[3] == 0x0a && d.mac[4] == 0xbb && d.mac[5] == 1);
	CHECK_EQ_INT(d.mtu, 9000);
	dm_devspec_free(&d);
	CHECK_EQ_INT(parse("net,socket=s,stream-fd=9", &d, err), 0);
	CHECK_EQ_INT(d.stream_fd, 9);
	CHECK(!d.mac_set);
	dm_devspec_free(&d);
}

static void refused(const char *s, const char *msg)
{
	struct dm_devspec d;
	char err[256] = "";

	int rc = parse(s, &d, err);
	CHECK_EQ_INT(rc, -22);
	if (!strstr(err, msg))
		printf("# '%s': message '%s' lacks '%s'\n", s, err, msg);
	CHECK(strstr(err, msg) != NULL);
}

static void test_channel(void)
{
	struct dm_devspec d;
	char err[256];

	CHECK_EQ_INT(parse("blk,channel=1,file=/dev/vda", &d, err), 0);
	CHECK_EQ_INT(d.channel, 1);
	CHECK_EQ_INT(d.listen_fd, -1);
	CHECK(d.socket_path == NULL);
	dm_devspec_free(&d);
	CHECK_EQ_INT(parse("net,channel=15,stream-fd=4", &d, err), 0);
	CHECK_EQ_INT(d.channel, 15);
	dm_devspec_free(&d);
	CHECK_EQ_INT(parse("net,channel=2,packet=eth0", &d, err), 0);
	CHECK_EQ_STR(d.packet_if, "eth0");
	CHECK_EQ_INT(d.tap_fd, -1);
	CHECK_EQ_INT(d.stream_fd, -1);
	dm_devspec_free(&d);
	CHECK_EQ_INT(parse("blk,fd=3,file=x", &d, err), 0);
	CHECK_EQ_INT(d.channel, 0);
	dm_devspec_free(&d);
	CHECK_EQ_INT(parse("blk,channel=1,pci=0000:00:1f.0,read-only=on", &d, err), 0);
	CHECK_EQ_STR(d.pci, "0000:00:1f.0");
	CHECK(d.file == NULL);
	CHECK(d.read_only);
	dm_devspec_free(&d);
}

static void test_refused(void)
{
	refused("", "expected a device kind");
	refused("gpu,fd=3", "expected a device kind");
	refused("blk,file=x", "exactly one of fd=, socket= and channel=");
	refused("blk,fd=3,socket=s,file=x", "exactly one of fd=, socket= and channel=");
	refused("blk,fd=3", "exactly one of file= and pci=");
	refused("blk,channel=1,file=x,pci=0000:00:10.0", "exactly one of file= and pci=");
	refused("blk,fd=3,pci=0000:00:10.0", "needs channel=");
	refused("blk,channel=1,pci=00:10.0", "expected a PCI address");
	refused("blk,channel=1,pci=0000:00:10.0x", "expected a PCI address");
	refused("blk,channel=1,pci=0000:0g:10.0", "expected a PCI address");
	refused("blk,channel=1,pci=../../x/y/z0", "expected a PCI address");
	refused("net,channel=1,packet=eth0,pci=0000:00:10.0", "unknown key 'pci'");
	refused("blk,fd=x,file=y", "not a file descriptor");
	refused("blk,fd=3,file=y,read-only=yes", "expected on or off");
	refused("blk,fd=3,file=y,tap-fd=4", "unknown key 'tap-fd' for a blk");
	refused("blk,fd=3,file", "expected key=value");
	refused("blk,fd=3,=x", "expected key=value");
	refused("net,fd=3", "exactly one of tap-fd=, stream-fd= and packet=");
	refused("net,fd=3,tap-fd=4,stream-fd=5", "exactly one of tap-fd=, stream-fd= and packet=");
	refused("net,fd=3,tap-fd=4,mac=00:16:3e:01:02", "six hex bytes");
	refused("net,fd=3,tap-fd=4,mac=00:16:3e:01:02:03:04", "six hex bytes");
	refused("net,fd=3,tap-fd=4,mac=0g:16:3e:01:02:03", "six hex bytes");
	refused("net,fd=3,tap-fd=4,packet=eth0", "exactly one of tap-fd=, stream-fd= and packet=");
	refused("net,fd=3,packet=eth0123456789abc", "at most 15 bytes");
	refused("blk,fd=3,file=x,packet=eth0", "unknown key 'packet' for a blk");
	refused("net,fd=3,tap-fd=4,mtu=67", "68..65535");
	refused("net,fd=3,tap-fd=4,mtu=65536", "68..65535");
	refused("net,fd=3,tap-fd=4,file=x", "unknown key 'file' for a net");
	refused("blk,channel=1,fd=3,file=x", "exactly one of fd=, socket= and channel=");
	refused("blk,channel=1,socket=s,file=x", "exactly one of fd=, socket= and channel=");
	refused("blk,channel=0,file=x", "expected 1..15");
	refused("blk,channel=16,file=x", "expected 1..15");
	refused("blk,channel=x,file=x", "expected 1..15");
}

int main(void)
{
	RUN(test_blk);
	RUN(test_net);
	RUN(test_channel);
	RUN(test_refused);
	return tap_done();
}
