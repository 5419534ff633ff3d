/* SPDX-License-Identifier: GPL-2.0 */
#ifndef RBLKCTL_H
#define RBLKCTL_H

#define RBLKCTL_VERSION "0.1"

/* Exit status of rblkctl; documented in docs/rblkctl.md. */
enum rblkctl_exit {
	RBLKCTL_EXIT_OK = 0,
	RBLKCTL_EXIT_FAIL = 1,
	RBLKCTL_EXIT_USAGE = 2,
	RBLKCTL_EXIT_NOMOD = 3,
	RBLKCTL_EXIT_PERM = 4,
	RBLKCTL_EXIT_NOENT = 5,
	RBLKCTL_EXIT_BUSY = 6,
	RBLKCTL_EXIT_INVAL = 7,
};

/* Exit status for a positive errno. */
int rblkctl_exit_code(int err);

#endif /* RBLKCTL_H */
