// Linux calls that Swift's Glibc module does not expose (they need _GNU_SOURCE, or are variadic).
#ifndef CALLVAULT_CSYSCALLS_H
#define CALLVAULT_CSYSCALLS_H
#include <sys/ioctl.h>
#include <linux/fs.h>
/* syncfs(2): flush one file system, so a batch of placements costs one wait instead of one per file. */
extern int syncfs(int fd);
/* ioctl(FICLONE): an independent copy-on-write clone of src into dest where the file system offers it
   (btrfs, XFS); ioctl is variadic, which Swift cannot call. */
static inline int callvault_ficlone(int dest, int src) { return ioctl(dest, FICLONE, src); }
#endif
