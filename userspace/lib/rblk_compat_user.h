/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel names the shared pure C files (kmod/rblk_gen.c, kmod/rblk_md.c,
 * kmod/rblk_commit.c) use, defined over libc for their userspace builds.
 */
#ifndef RBLK_COMPAT_USER_H
#define RBLK_COMPAT_USER_H
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define cpu_to_le16(x) ((__le16)htole16(x))
#define cpu_to_le32(x) ((__le32)htole32(x))
#define cpu_to_le64(x) ((__le64)htole64(x))
#define le16_to_cpu(x) le16toh((uint16_t)(x))
#define le32_to_cpu(x) le32toh((uint32_t)(x))
#define le64_to_cpu(x) le64toh((uint64_t)(x))
#define cpu_to_be16(x) ((__be16)htobe16(x))
#define cpu_to_be32(x) ((__be32)htobe32(x))
#define cpu_to_be64(x) ((__be64)htobe64(x))
#define be16_to_cpu(x) be16toh((uint16_t)(x))
#define be32_to_cpu(x) be32toh((uint32_t)(x))
#define be64_to_cpu(x) be64toh((uint64_t)(x))

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#define BUILD_BUG_ON(cond) _Static_assert(!(cond), #cond)
#ifndef min
#define min(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef max
#define max(a, b) ((a) > (b) ? (a) : (b))
#endif
#define min_t(t, a, b) min((t)(a), (t)(b))
#define BIT(n) (1UL << (n))
#define BIT_ULL(n) (1ULL << (n))
#define U64_MAX UINT64_MAX
#define hweight_long(x) __builtin_popcountl(x)

/* Castagnoli CRC, the kernel's crc32c() convention (no inversion). */
u32 crc32c(u32 crc, const void *data, size_t len);

#endif /* RBLK_COMPAT_USER_H */
