// SPDX-License-Identifier: GPL-2.0
/*
 * log_replay - replays a dm-log-writes log onto a device, up to a mark:
 * what a disk under the log holds after a power cut at that mark.
 *
 * dm-log-writes logs a write only once a flush made it durable (FUA
 * writes at once), in that order, so replaying the log up to a mark taken
 * at the "power cut" onto a copy of the device as it was when logging
 * began leaves exactly what survived: writes completed but not flushed
 * are lost, like a volatile cache. The log's format is the kernel's
 * (drivers/md/dm-log-writes.c): a superblock, then per entry one sector
 * of header (a mark's name follows the header) and the data written.
 *
 *   log_replay LOGDEV DEV MARK
 *
 * Exit: 0 replayed up to MARK; 1 MARK not in the log (nothing is left
 * half done: every entry before the end was replayed); 2 a bad log or
 * an I/O error, with the reason on stderr.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_MAGIC	0x6a736677736872ULL
#define LOG_VERSION	1
#define LOG_FLUSH	(1 << 0)
#define LOG_FUA		(1 << 1)
#define LOG_DISCARD	(1 << 2)
#define LOG_MARK	(1 << 3)
#define LOG_METADATA	(1 << 4)
/* The largest write the kernel logs in one entry is far below this. */
#define MAX_ENTRY_BYTES	(64u << 20)

struct log_super {
	uint64_t magic;
	uint64_t version;
	uint64_t nr_entries;
	uint32_t sectorsize;
} __attribute__((packed));

struct log_entry {
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
} __attribute__((packed));

__attribute__((format(printf, 1, 2)))
static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "log_replay: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	return n == (ssize_t)len ? 0 : -1;
}

int main(int argc, char **argv)
{
	uint64_t i, pos, dev_bytes, log_bytes, writes = 0;
	struct log_super sb;
	int lfd, dfd;
	uint32_t ss;
	char *buf;

	if (argc != 4) {
		fprintf(stderr, "usage: log_replay LOGDEV DEV MARK\n");
		return 2;
	}
	lfd = open(argv[1], O_RDONLY);
	dfd = open(argv[2], O_WRONLY);
	if (lfd < 0 || dfd < 0)
		return bad("cannot open %s: %s", lfd < 0 ? argv[1] : argv[2],
			   strerror(errno));
	log_bytes = (uint64_t)lseek(lfd, 0, SEEK_END);
	dev_bytes = (uint64_t)lseek(dfd, 0, SEEK_END);
	if (read_at(lfd, &sb, sizeof(sb), 0))
		return bad("%s: no superblock", argv[1]);
	if (le64toh(sb.magic) != LOG_MAGIC || le64toh(sb.version) != LOG_VERSION)
		return bad("%s: not a dm-log-writes log (version %" PRIu64 ")", argv[1],
			   le64toh(sb.version));
	ss = le32toh(sb.sectorsize);
	if (ss < 512 || ss > 65536 || (ss & (ss - 1)))
		return bad("%s: bad sector size %u", argv[1], ss);
	buf = malloc(MAX_ENTRY_BYTES);
	if (!buf)
		return bad("out of memory");
	pos = ss;
	for (i = 0; i < le64toh(sb.nr_entries); i++) {
		struct log_entry e;
		uint64_t sector, nr, flags, len, bytes;

		if (pos > log_bytes - ss || read_at(lfd, buf, ss, pos))
			return bad("%s: entry %" PRIu64 " beyond the log", argv[1], i);
		memcpy(&e, buf, sizeof(e));
		sector = le64toh(e.sector);
		nr = le64toh(e.nr_sectors);
		flags = le64toh(e.flags);
		len = le64toh(e.data_len);
		pos += ss;
		if (flags & LOG_MARK) {
			if (len > ss - sizeof(e))
				return bad("%s: mark of entry %" PRIu64 " too long", argv[1], i);
			if (len == strlen(argv[3]) && !memcmp(buf + sizeof(e), argv[3], len)) {
				if (fsync(dfd))
					return bad("%s: fsync failed", argv[2]);
				printf("replayed %" PRIu64 " writes up to mark %s\n", writes,
				       argv[3]);
				return 0;
			}
			continue;
		}
		if (nr > MAX_ENTRY_BYTES / ss || sector > dev_bytes / ss ||
		    nr > dev_bytes / ss - sector)
			return bad("%s: entry %" PRIu64 " out of bounds", argv[1], i);
		bytes = nr * ss;
		if (flags & LOG_DISCARD) {
			/* What a discard leaves is unspecified: zeroes will do. */
			memset(buf, 0, bytes);
		} else {
			if (!nr)
				continue;
			if (pos > log_bytes || bytes > log_bytes - pos ||
			    read_at(lfd, buf, bytes, pos))
				return bad("%s: data of entry %" PRIu64 " beyond the log",
					   argv[1], i);
			pos += bytes;
		}
		if (pwrite(dfd, buf, bytes, (off_t)(sector * ss)) != (ssize_t)bytes)
			return bad("%s: write failed at sector %" PRIu64, argv[2], sector);
		writes++;
	}
	if (fsync(dfd))
		return bad("%s: fsync failed", argv[2]);
	fprintf(stderr, "log_replay: %s: no mark %s in %" PRIu64 " entries\n", argv[1],
		argv[3], i);
	return 1;
}
