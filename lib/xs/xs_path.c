/* xs_path.c — see xs_path.h. */
#include "xs/xs_path.h"
#include "xs/xs_wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool valid_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '/' || c == '_' || c == '@';
}

static bool valid_chars(const char *p)
{
	for (; *p; p++)
		if (!valid_char(*p))
			return false;
	return true;
}

bool xs_path_is_special(const char *path)
{
	return path[0] == '@';
}

size_t xs_path_domain_home(unsigned int domid, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "/local/domain/%u", domid);

	return n < 0 ? 0 : (size_t)n;
}

int xs_path_canonical(const char *in, unsigned int domid, bool allow_special, char *out,
		      bool *relative)
{
	size_t len = strnlen(in, XS_ABS_PATH_MAX + 1);
	bool rel = false;

	if (len == 0 || len > XS_ABS_PATH_MAX || !valid_chars(in))
		return -EINVAL;
	if (xs_path_is_special(in)) {
		if (!allow_special || strchr(in, '/'))
			return -EINVAL;
		memcpy(out, in, len + 1);
		goto done;
	}
	if (in[0] != '/') {
		size_t hl;
		if (len > XS_REL_PATH_MAX)
			return -EINVAL;
		rel = true;
		hl = xs_path_domain_home(domid, out, XS_PATH_BUF);
		if (hl + 1 + len > XS_ABS_PATH_MAX)
			return -EINVAL;
		out[hl] = '/';
		memcpy(out + hl + 1, in, len + 1);
	} else {
		memcpy(out, in, len + 1);
	}
	/* No doubled slashes; no trailing slash except the root itself. */
	if (strstr(out, "//"))
		return -EINVAL;
	len = strlen(out);
	if (len > 1 && out[len - 1] == '/')
		return -EINVAL;
done:
	if (relative)
		*relative = rel;
	return 0;
}

bool xs_path_is_child(const char *child, const char *parent)
{
	size_t pl = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return child[0] == '/';
	return strncmp(child, parent, pl) == 0 && (child[pl] == '\0' || child[pl] == '/');
}

size_t xs_path_parent_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash || path[1] == '\0')
		return 0;
	return slash == path ? 1 : (size_t)(slash - path);
}

const char *xs_path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}
