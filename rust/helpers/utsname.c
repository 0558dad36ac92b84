// SPDX-License-Identifier: GPL-2.0

#include <linux/string.h>
#include <linux/utsname.h>

/* Copies the calling task's node name into buf (nul-padded), as uname(2) reads it. */
__rust_helper void rust_helper_uts_nodename_copy(char *buf, size_t len)
{
	down_read(&uts_sem);
	strscpy_pad(buf, utsname()->nodename, len);
	up_read(&uts_sem);
}
