// SPDX-License-Identifier: GPL-2.0
/*
 * Reading and writing rblk metadata on a device (or image file) from
 * userspace, with the crash-safe two-copy update of the format.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "rblk_mdio.h"

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int open_dev(const char *path, bool write, int *fd, u64 *size,
		    char *err, size_t len)
{
	struct stat st;
	int flags = write ? O_RDWR | O_EXCL | O_DSYNC : O_RDONLY;

	*fd = open(path, flags | O_CLOEXEC);
	if (*fd < 0) {
		if (errno == EBUSY)
			return fail(err, len, "%s is in use (mounted, or held by rblk or another driver)", path);
		return fail(err, len, "cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(*fd, &st) < 0)
		return fail(err, len, "cannot stat %s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(*fd, BLKGETSIZE64, size) < 0)
			return fail(err, len, "cannot get the size of %s: %s", path, strerror(errno));
	} else if (S_ISREG(st.st_mode)) {
		*size = (u64)st.st_size;
	} else {
		return fail(err, len, "%s is not a block device", path);
	}
	return 0;
}

u64 rblk_mdio_sb_offset(const struct rblk_mdio *io)
{
	u64 dev = io->md_dev_size - io->md_dev_size % RBLK_MD_BLOCK;

	return io->external ? 0 : dev - 2 * RBLK_MD_BLOCK;
}

int rblk_mdio_open(struct rblk_mdio *io, const char *data, const char *external,
		   bool write, char *err, size_t errlen)
{
	static u8 copies[2][RBLK_MD_BLOCK] __attribute__((aligned(4096)));
	u64 off;
	ssize_t n;

	memset(io, 0, sizeof(*io));
	io->data_fd = io->md_fd = -1;
	io->copy = -1;
	if (open_dev(data, write, &io->data_fd, &io->data_size, err, errlen))
		return -1;
	io->md_fd = io->data_fd;
	io->md_dev_size = io->data_size;
	if (external) {
		io->external = true;
		if (open_dev(external, write, &io->md_fd, &io->md_dev_size, err, errlen))
			return -1;
	}
	if (io->md_dev_size < 2 * RBLK_MD_BLOCK)
		return fail(err, errlen, "%s is too small for rblk metadata",
			    external ? external : data);

	off = rblk_mdio_sb_offset(io);
	/*
	 * The module writes the metadata of a live volume around the page
	 * cache: drop what an earlier read left there, so that this one sees
	 * the disk (dump-md on a running node).
	 */
	posix_fadvise(io->md_fd, (off_t)off, sizeof(copies), POSIX_FADV_DONTNEED);
	n = pread(io->md_fd, copies, sizeof(copies), (off_t)off);
	if (n != (ssize_t)sizeof(copies))
		return fail(err, errlen, "cannot read the metadata of %s: %s",
			    external ? external : data,
			    n < 0 ? strerror(errno) : "short read");
	for (int i = 0; i < 2; i++) {
		struct rblk_md md;

		io->status[i] = rblk_md_decode(copies[i], RBLK_MD_BLOCK,
					       io->md_dev_size, io->data_size,
					       &md, &io->why[i]);
		if (io->status[i] != RBLK_MD_OK)
			continue;
		if (io->copy < 0 || md.seq > io->md.seq) {
			io->copy = i;
			io->md = md;
		}
	}
	return 0;
}

void rblk_mdio_close(struct rblk_mdio *io)
{
	if (io->md_fd >= 0 && io->md_fd != io->data_fd)
		close(io->md_fd);
	if (io->data_fd >= 0)
		close(io->data_fd);
	io->md_fd = io->data_fd = -1;
}

static int write_copy(struct rblk_mdio *io, const struct rblk_md *md, int copy,
		      char *err, size_t errlen)
{
	static u8 block[RBLK_MD_BLOCK] __attribute__((aligned(4096)));
	u64 off = rblk_mdio_sb_offset(io) + (u64)copy * RBLK_MD_BLOCK;

	memset(block, 0, sizeof(block));
	rblk_md_encode(md, (struct rblk_md_sb *)block);
	if (pwrite(io->md_fd, block, sizeof(block), (off_t)off) != (ssize_t)sizeof(block))
		return fail(err, errlen, "cannot write the metadata: %s", strerror(errno));
	return 0;
}

int rblk_mdio_commit(struct rblk_mdio *io, struct rblk_md *md, char *err,
		     size_t errlen)
{
	int next = io->copy < 0 ? 0 : rblk_md_next_copy(io->copy);

	md->seq = io->copy < 0 ? 1 : io->md.seq + 1;
	if (write_copy(io, md, next, err, errlen))
		return -1;
	io->copy = next;
	io->md = *md;
	return 0;
}

static int zero_range(int fd, u64 off, u64 len, char *err, size_t errlen)
{
	static u8 zero[1 << 16];
	uint64_t range[2] = { off, len };

	/*
	 * A block device zeroes the range itself: a write-zeroes or discard
	 * where it has one (a sparse or thin device stays sparse: 16 TiB of
	 * data have 1.5 GiB of bitmaps with 3 peers), else the kernel
	 * writes zeros. Files, and devices that refuse, get written.
	 */
	if (len && off % 512 == 0 && len % 512 == 0 && !ioctl(fd, BLKZEROOUT, range))
		return 0;
	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);

		if (pwrite(fd, zero, n, (off_t)off) != (ssize_t)n)
			return fail(err, errlen, "cannot clear the metadata area: %s",
				    strerror(errno));
		off += n;
		len -= n;
	}
	return 0;
}

int rblk_mdio_format(struct rblk_mdio *io, struct rblk_md *md, char *err,
		     size_t errlen)
{
	const struct rblk_md_layout *l = &md->layout;

	/* Intent log and bitmaps first, the superblocks last. */
	if (zero_range(io->md_fd, l->al_offset, l->sb_offset > l->al_offset ?
		       l->sb_offset - l->al_offset : l->md_size - l->al_offset,
		       err, errlen))
		return -1;
	md->seq = 1;
	if (write_copy(io, md, 0, err, errlen))
		return -1;
	md->seq = 2;
	if (write_copy(io, md, 1, err, errlen))
		return -1;
	io->copy = 1;
	io->md = *md;
	return 0;
}

static u64 internal_sb_offset(u64 size)
{
	return size - size % RBLK_MD_BLOCK - 2 * RBLK_MD_BLOCK;
}

bool rblk_mdio_data_has_internal(const struct rblk_mdio *io)
{
	__le64 magic;

	if (!io->external || io->data_size < 2 * RBLK_MD_BLOCK)
		return false;
	for (int i = 0; i < 2; i++) {
		off_t off = (off_t)(internal_sb_offset(io->data_size) + (u64)i * RBLK_MD_BLOCK);

		if (pread(io->data_fd, &magic, sizeof(magic), off) == (ssize_t)sizeof(magic) &&
		    le64_to_cpu(magic) == RBLK_MD_MAGIC)
			return true;
	}
	return false;
}

int rblk_mdio_wipe_internal(struct rblk_mdio *io, char *err, size_t errlen)
{
	return zero_range(io->data_fd, internal_sb_offset(io->data_size),
			  2 * RBLK_MD_BLOCK, err, errlen);
}
