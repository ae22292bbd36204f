// Linux calls that Swift's Glibc module does not expose (they need _GNU_SOURCE).
#ifndef CALLVAULT_CSYSCALLS_H
#define CALLVAULT_CSYSCALLS_H
/* syncfs(2): flush one file system, so a batch of placements costs one wait instead of one per file. */
extern int syncfs(int fd);
#endif
