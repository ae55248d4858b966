/*
 * Linked into a static eddy only (EDDY_STATIC). libuv's uv_os_get_passwd,
 * which eddy never calls, references getpwuid_r; glibc's static copy of it
 * needs the NSS shared libraries at run time and makes the linker warn. eddy
 * does not look users up, so this definition (taken before libc.a's) keeps
 * the binary free of NSS and the build free of the warning.
 */
#include <errno.h>
#include <pwd.h>
#include <stddef.h>

int getpwuid_r(uid_t uid, struct passwd *pwd, char *buf, size_t buflen, struct passwd **result)
{
    (void)uid;
    (void)pwd;
    (void)buf;
    (void)buflen;
    *result = NULL;
    return ENOENT;
}
