/* xs_names.c — error and message-type names of the wire protocol. */
#include "xs/xs_wire.h"
#include "common/util.h"

#include <errno.h>
#include <string.h>

static const struct {
	int err;
	const char *name;
} xs_errors[] = {
	{EINVAL, "EINVAL"},	  {EACCES, "EACCES"},	{EEXIST, "EEXIST"}, {EISDIR, "EISDIR"},
	{ENOENT, "ENOENT"},	  {ENOMEM, "ENOMEM"},	{ENOSPC, "ENOSPC"}, {EIO, "EIO"},
	{ENOTEMPTY, "ENOTEMPTY"}, {ENOSYS, "ENOSYS"},	{EROFS, "EROFS"},   {EBUSY, "EBUSY"},
	{EAGAIN, "EAGAIN"},	  {EISCONN, "EISCONN"}, {E2BIG, "E2BIG"},   {EPERM, "EPERM"},
};

const char *xs_error_name(int err)
{
	for (unsigned i = 0; i < ARRAY_SIZE(xs_errors); i++)
		if (xs_errors[i].err == err)
			return xs_errors[i].name;
	return "EINVAL";
}

int xs_error_from_name(const char *name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(xs_errors); i++)
		if (strcmp(xs_errors[i].name, name) == 0)
			return xs_errors[i].err;
	return 0;
}

static const char *const xs_types[XS_TYPE_COUNT] = {
	[XS_CONTROL] = "CONTROL",
	[XS_DIRECTORY] = "DIRECTORY",
	[XS_READ] = "READ",
	[XS_GET_PERMS] = "GET_PERMS",
	[XS_WATCH] = "WATCH",
	[XS_UNWATCH] = "UNWATCH",
	[XS_TRANSACTION_START] = "TRANSACTION_START",
	[XS_TRANSACTION_END] = "TRANSACTION_END",
	[XS_INTRODUCE] = "INTRODUCE",
	[XS_RELEASE] = "RELEASE",
	[XS_GET_DOMAIN_PATH] = "GET_DOMAIN_PATH",
	[XS_WRITE] = "WRITE",
	[XS_MKDIR] = "MKDIR",
	[XS_RM] = "RM",
	[XS_SET_PERMS] = "SET_PERMS",
	[XS_WATCH_EVENT] = "WATCH_EVENT",
	[XS_ERROR] = "ERROR",
	[XS_IS_DOMAIN_INTRODUCED] = "IS_DOMAIN_INTRODUCED",
	[XS_RESUME] = "RESUME",
	[XS_SET_TARGET] = "SET_TARGET",
	[XS_RESTRICT] = "RESTRICT",
	[XS_RESET_WATCHES] = "RESET_WATCHES",
	[XS_DIRECTORY_PART] = "DIRECTORY_PART",
	[XS_GET_FEATURE] = "GET_FEATURE",
	[XS_SET_FEATURE] = "SET_FEATURE",
	[XS_GET_QUOTA] = "GET_QUOTA",
	[XS_SET_QUOTA] = "SET_QUOTA",
};

const char *xs_type_name(uint32_t type)
{
	if (type < XS_TYPE_COUNT && xs_types[type])
		return xs_types[type];
	return "UNKNOWN";
}
