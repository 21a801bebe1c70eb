/* cmd_info.c — `airlock info`: what this host runs guests with — the
 * accelerator the probe chose and why, the QEMU engine, the cgroup layout,
 * kernel, CPUs and memory (toolstack/probe.h; docs/host.md). Needs no
 * store. */
#include "cli.h"
#include "toolstack/probe.h"

#include <stdio.h>

int cmd_info(const struct cli *cli, int argc, char **argv)
{
	int status, r;

	if (!cli_simple_args(cli, argc, argv, 0, 0, &status))
		return status;
	r = probe_print_info(stdout);
	if (r)
		return cli_error(cli, NULL, r);
	return CLI_OK;
}
