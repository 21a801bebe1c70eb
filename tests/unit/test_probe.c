/* test_probe.c — the host probe on this host: it decides within its
 * deadline, gives a reason either way, and its decision agrees with its
 * own measurements. Where /dev/kvm exists the probe guest must really run
 * (long mode verified), whatever its speed.
 */
#include "common/util.h"
#include "tap.h"
#include "toolstack/probe.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_missing_device(void)
{
	struct probe_kvm k;

	CHECK_EQ_INT(probe_kvm("/nonexistent/kvm", 500, &k), 0);
	CHECK(!k.ran);
	CHECK_EQ_STR(k.why, "/nonexistent/kvm missing");
}

static void test_kvm_guest(void)
{
	struct probe_kvm k;
	char rate[32];

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("# no usable /dev/kvm here\n");
		return;
	}
	CHECK_EQ_INT(probe_kvm(NULL, 1000, &k), 0);
	probe_format_rate(k.rate, rate, sizeof(rate));
	printf("# kvm guest: ran %d, %s iterations/s, %llu iterations in %.1f ms, %llu ms in "
	       "all; %s\n",
	       k.ran, rate, (unsigned long long)k.iterations, (double)k.elapsed_ns / 1e6,
	       (unsigned long long)k.total_ms, k.why[0] ? k.why : "verified");
	CHECK(k.ran);
	CHECK_EQ_STR(k.why, "");
	CHECK(k.rate > 0 && k.iterations > 0);
	CHECK(k.total_ms < 1500);
}

static void test_deadline(void)
{
	struct probe_kvm k;
	uint64_t t0 = now_ms();

	if (access("/dev/kvm", R_OK | W_OK) != 0)
		return;
	/* Too short for any host to finish its rounds: killed in time. */
	CHECK_EQ_INT(probe_kvm(NULL, 2, &k), 0);
	CHECK(now_ms() - t0 < 500);
	CHECK(k.timed_out || k.ran);
	if (k.timed_out)
		CHECK(strstr(k.why, "timed out") != NULL);
}

static void test_decision(void)
{
	struct probe_result *r = calloc(1, sizeof(*r));
	uint64_t t0 = now_ms(), took;

	if (!r)
		return;
	CHECK_EQ_INT(probe_accel(r, 0), 0);
	took = now_ms() - t0;
	printf("# %s in %llu ms: %s\n", probe_accel_name(r->accel), (unsigned long long)took,
	       r->reason);
	CHECK(took < 2000);
	CHECK(strncmp(r->reason, "kvm: ", 5) == 0);
	if (r->accel == PROBE_ACCEL_KVM) {
		CHECK(r->kvm.ran && r->kvm.rate >= PROBE_KVM_MIN_RATE);
		CHECK(r->qemu.has_kvm);
	} else {
		CHECK(strstr(r->reason, "using tcg") != NULL);
	}
	if (access("/usr/bin/qemu-system-x86_64", X_OK) == 0) {
		CHECK(r->qemu.found);
		CHECK(r->qemu.has_tcg);
		CHECK(r->qemu.version[0] >= '1' && r->qemu.version[0] <= '9');
	}
	free(r);
}

static void test_info(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	CHECK_EQ_INT(probe_print_info(f), 0);
	fclose(f);
	CHECK(text && strstr(text, "accelerator:"));
	CHECK(text && strstr(text, "reason:        kvm: "));
	CHECK(text && strstr(text, "qemu:"));
	CHECK(text && strstr(text, "cgroup:"));
	CHECK(text && strstr(text, "kernel:"));
	CHECK(text && strstr(text, "cpus:"));
	CHECK(text && strstr(text, "memory:"));
	for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		printf("# %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
	}
	free(text);
}

static void test_format(void)
{
	char b[32];

	probe_format_rate(2100000, b, sizeof(b));
	CHECK_EQ_STR(b, "2.1 M");
	probe_format_rate(1900000000, b, sizeof(b));
	CHECK_EQ_STR(b, "1.9 G");
	probe_format_rate(850000, b, sizeof(b));
	CHECK_EQ_STR(b, "850 k");
	probe_format_rate(12, b, sizeof(b));
	CHECK_EQ_STR(b, "12");
}

int main(void)
{
	RUN(test_missing_device);
	RUN(test_kvm_guest);
	RUN(test_deadline);
	RUN(test_decision);
	RUN(test_info);
	RUN(test_format);
	return tap_done();
}
