/* test_stub_vfio — the part of dm/stub_vfio.c a host can run: finding the
 * ivshmem device in a sysfs tree (a fake one here). The rest (binding,
 * VFIO, MSI-X, the doorbell) runs in a stub domain:
 * tests/blackbox/stubdom_dm.sh. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm/stub_vfio.h"
#include "tap.h"

static char root[64];

static void put(const char *dev, const char *file, const char *val)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, dev);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%s/%s", root, dev, file);
	FILE *f = fopen(p, "w");
	CHECK(f != NULL);
	fprintf(f, "%s\n", val);
	fclose(f);
}

static void test_find(void)
{
	char bdf[32];
	strcpy(root, "/tmp/test_stub_vfio.XXXXXX");
	CHECK(mkdtemp(root) != NULL);
	CHECK_EQ_INT(stub_vfio_find(root, bdf, sizeof(bdf)), -ENOENT);
	put("0000:00:01.0", "vendor", "0x8086");
	put("0000:00:01.0", "device", "0x1110");
	put("0000:00:02.0", "vendor", "0x1af4");
	put("0000:00:02.0", "device", "0x1000"); /* virtio-net */
	put("0000:00:03.0", "vendor", "0x1af4"); /* no device file */
	CHECK_EQ_INT(stub_vfio_find(root, bdf, sizeof(bdf)), -ENOENT);
	put("0000:00:04.0", "vendor", "0x1af4");
	put("0000:00:04.0", "device", "0x1110");
	CHECK_EQ_INT(stub_vfio_find(root, bdf, sizeof(bdf)), 0);
	CHECK_EQ_STR(bdf, "0000:00:04.0");
	CHECK_EQ_INT(stub_vfio_find(root, bdf, 8), -ENAMETOOLONG);
	CHECK_EQ_INT(stub_vfio_find("/nonexistent/x", bdf, sizeof(bdf)), -ENOENT);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
	RUN(test_find);
	return tap_done();
}
