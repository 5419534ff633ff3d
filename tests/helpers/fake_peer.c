// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper: a peer that speaks the replication protocol
 * (docs/protocol.md) wrongly. It dials a volume as node N, does one bad
 * thing (the mode) and reports what the kernel did, one line a step.
 *
 *   fake_peer --connect ADDR:PORT --uuid UUID --node N --to M --size BYTES
 *             --mode MODE [--timeout-ms T] [--pattern BYTE] [--follow C:O]
 *             [--pings N] [--secret-file F] [--count N]
 *
 * It speaks protocol 2: CONNECT, then with --secret-file (the volume's
 * secret) the HMAC-SHA256 proofs of AUTH and kernel TLS with the keys both
 * sides derive (OpenSSL for the HMAC; the kernel's TLS for the records),
 * then HELLO, echoing the kernel's settings so that they agree. Without
 * --secret-file it offers no authentication (auth none).
 *
 * With --follow it says it is a secondary holding generation C:O (the
 * kernel's, on a primary): the kernel counts it in sync and replicates its
 * writes to it, so the modes that answer them test the primary's side.
 * --pings sets how many PINGs flood sends (default and most: 100000).
 *
 * Exit 0 when the kernel did the right thing: dropped the connection
 * within T ms (or refused the handshake with the expected reason, then
 * closed); for flood, stayed responsive; for good-write, acked the write;
 * for split-ack, took ACKs that arrive in pieces and kept the connection.
 * Exit 1 otherwise, 2 on bad usage. While it waits it answers the
 * kernel's pings, so a drop is never just the ping timeout.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include <linux/tls.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "rblk_proto.h"

#ifndef SOL_TLS
#define SOL_TLS		282
#endif

#define HDR_LEN		sizeof(struct rblk_msg_hdr)
#define WRITE_LEN	sizeof(struct rblk_msg_write)
#define FLOOD_PINGS_MAX	100000
#define QUIET_MS	500
#define GOOD_ID		1
/* split-ack: the writes it answers, and the pause between pieces. */
#define SPLIT_WRITES	2
#define SPLIT_PAUSE_MS	100
/* unknown-ack with --follow: how long after the kernel's STATE it sends. */
#define SETTLE_MS	100

/* Results of the socket helpers. */
enum io { IO_OK, IO_CLOSED, IO_TIMEOUT };

/**
 * struct peer - the options and the connection
 * @host:	--connect, up to the last ':'
 * @port:	after it
 * @uuid:	--uuid
 * @node:	--node: the id this peer claims
 * @to:		--to: the kernel node's id
 * @size:	--size: the volume's exported bytes
 * @timeout_ms:	--timeout-ms: how long to wait for the kernel
 * @pattern:	--pattern: the data byte of good-write
 * @follow:	--follow was given: a secondary at @gen
 * @gen:	its generation (--follow C:O)
 * @fd:		the connection
 * @closed:	a send found it closed by the kernel (said once)
 * @shut:	this peer shut its sending side down (pings go unanswered)
 * @quiet:	do not print each message received
 * @joined:	the handshake succeeded (a REFUSE now is a failure)
 * @digest:	the kernel offered the data digest too: WRITE data is
 *		followed by its CRC32C
 * @pings:	--pings: PINGs the flood sends (default FLOOD_PINGS_MAX)
 * @flood_left:	flood bytes the kernel did not take (it stopped reading)
 * @deadline:	when the current wait for the kernel ends (CLOCK_MONOTONIC ms)
 * @secret:	--secret-file's contents; @secret_len 0: auth none
 * @secret_len:	their length
 * @count:	--count: connections of silent
 * @mine:	the CONNECT this peer sent
 * @theirs:	the kernel's CONNECT
 * @kernel_hello: the kernel's HELLO (its settings are echoed)
 * @extra:	silent: its connections
 */
struct peer {
	char host[256];
	const char *port;
	uuid_t uuid;
	u32 node, to;
	u64 size;
	int timeout_ms;
	u8 pattern;
	bool follow;
	struct rblk_wire_gen gen;
	int fd;
	bool closed, shut, quiet, joined, digest;
	size_t pings, flood_left;
	long long deadline;
	u8 secret[RBLK_SECRET_MAX];
	size_t secret_len;
	int count;
	struct rblk_msg_connect mine, theirs;
	struct rblk_msg_hello kernel_hello;
	int *extra;
};

/**
 * struct frame - one received message
 * @hdr:	its header
 * @u:		its payload, by type
 */
struct frame {
	struct rblk_msg_hdr hdr;
	union {
		struct rblk_msg_hello hello;
		struct rblk_msg_connect connect;
		struct rblk_msg_auth auth;
		struct rblk_msg_refuse refuse;
		struct rblk_msg_ack ack;
		struct rblk_msg_state state;
		struct rblk_msg_promise_reply promise_reply;
		struct rblk_msg_write write;
		u8 raw[1024];
	} u;
};

struct mode;
typedef void (*act_fn)(struct peer *p, const struct mode *m);
typedef int (*check_fn)(struct peer *p, const struct mode *m);

/**
 * struct mode - one way of getting the protocol wrong
 * @name:	--mode
 * @handshake:	do a good handshake first
 * @act:	the bad thing
 * @check:	what the kernel must do about it
 * @refuse:	expected RBLK_REFUSE_* (check_refuse)
 * @hello:	how act_hello spoils the HELLO
 * @connect:	how act_connect spoils the CONNECT
 * @from_end:	act_write: @sector counts back from the end of the volume
 * @sector:	act_write: first sector
 * @size:	act_write: rblk_msg_write.size (0: 4096)
 * @data:	act_write: data bytes sent (0: @size)
 * @flags:	act_write: header flags
 * @counter:	act_write: the write's generation counter
 * @route_len:	act_write: route.len
 * @route0:	act_write: route.nodes[0]
 */
struct mode {
	const char *name;
	bool handshake;
	act_fn act;
	check_fn check;
	int refuse;
	void (*hello)(struct rblk_msg_hello *h);
	void (*connect)(struct rblk_msg_connect *c);
	bool from_end;
	bool bad_crc;
	u64 sector;
	u32 size;
	u32 data;
	u16 flags;
	u64 counter;
	u8 route_len;
	u8 route0;
};

/*
 * The payload length a message of @type must have, or -1 when it varies
 * (WRITE, RS_DATA: header struct plus data). The fake's own reading of
 * docs/protocol.md, independent of the module's frame table
 * (kmod/rblk_recv.c).
 */
static int rblk_msg_fixed_len(u16 type)
{
	switch (type) {
	case RBLK_MSG_HELLO:
		return sizeof(struct rblk_msg_hello);
	case RBLK_MSG_REFUSE:
		return sizeof(struct rblk_msg_refuse);
	case RBLK_MSG_PING:
	case RBLK_MSG_PONG:
		return 0;
	case RBLK_MSG_FLUSH:
		return sizeof(struct rblk_msg_flush);
	case RBLK_MSG_ACK:
		return sizeof(struct rblk_msg_ack);
	case RBLK_MSG_STATE:
		return sizeof(struct rblk_msg_state);
	case RBLK_MSG_NEW_GEN:
		return sizeof(struct rblk_msg_new_gen);
	case RBLK_MSG_PROMISE:
		return sizeof(struct rblk_msg_promise);
	case RBLK_MSG_PROMISE_REPLY:
		return sizeof(struct rblk_msg_promise_reply);
	case RBLK_MSG_CONNECT:
		return sizeof(struct rblk_msg_connect);
	case RBLK_MSG_AUTH:
		return sizeof(struct rblk_msg_auth);
	case RBLK_MSG_RS_ACK:
		return sizeof(struct rblk_msg_ack);
	case RBLK_MSG_RS_DONE:
		return sizeof(struct rblk_msg_rs_done);
	case RBLK_MSG_RS_OOS:
		return sizeof(struct rblk_msg_rs_oos);
	default:
		return -1;
	}
}

static const char *const type_names[] = {
	[RBLK_MSG_HELLO] = "HELLO", [RBLK_MSG_REFUSE] = "REFUSE",
	[RBLK_MSG_PING] = "PING", [RBLK_MSG_PONG] = "PONG",
	[RBLK_MSG_WRITE] = "WRITE", [RBLK_MSG_FLUSH] = "FLUSH",
	[RBLK_MSG_ACK] = "ACK", [RBLK_MSG_STATE] = "STATE",
	[RBLK_MSG_NEW_GEN] = "NEW_GEN", [RBLK_MSG_PROMISE] = "PROMISE",
	[RBLK_MSG_PROMISE_REPLY] = "PROMISE_REPLY",
	[RBLK_MSG_CONNECT] = "CONNECT", [RBLK_MSG_AUTH] = "AUTH",
	[RBLK_MSG_RS_DATA] = "RS_DATA", [RBLK_MSG_RS_ACK] = "RS_ACK",
	[RBLK_MSG_RS_DONE] = "RS_DONE", [RBLK_MSG_RS_OOS] = "RS_OOS",
};

static const char *const refuse_names[] = {
	[RBLK_REFUSE_PROTO] = "PROTO", [RBLK_REFUSE_UUID] = "UUID",
	[RBLK_REFUSE_NODE] = "NODE", [RBLK_REFUSE_SIZE] = "SIZE",
	[RBLK_REFUSE_GEN] = "GEN", [RBLK_REFUSE_ROLE] = "ROLE",
	[RBLK_REFUSE_BUSY] = "BUSY", [RBLK_REFUSE_AUTH] = "AUTH",
	[RBLK_REFUSE_CONFIG] = "CONFIG",
};

static const char *name_of(const char *const *names, size_t n, u32 v)
{
	return v < n && names[v] ? names[v] : "?";
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void start_wait(struct peer *p)
{
	p->deadline = now_ms() + p->timeout_ms;
}

/* Waits for @events on the connection until @deadline. */
static enum io wait_for(struct peer *p, short events, long long deadline)
{
	struct pollfd pfd = { .fd = p->fd, .events = events };
	long long left;
	int n;

	do {
		left = deadline - now_ms();
		if (left <= 0)
			return IO_TIMEOUT;
		n = poll(&pfd, 1, (int)left);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		perror("poll");
		exit(1);
	}
	return n ? IO_OK : IO_TIMEOUT;
}

/* EOF and a reset both mean the kernel dropped the connection. */
static enum io io_error(const char *what, ssize_t n)
{
	if (n == 0 || errno == ECONNRESET || errno == EPIPE)
		return IO_CLOSED;
	perror(what);
	exit(1);
}

static enum io recv_all(struct peer *p, void *buf, size_t len)
{
	size_t done = 0;
	enum io r;
	ssize_t n;

	while (done < len) {
		r = wait_for(p, POLLIN, p->deadline);
		if (r != IO_OK)
			return r;
		n = recv(p->fd, (u8 *)buf + done, len - done, MSG_DONTWAIT);
		if (n > 0)
			done += (size_t)n;
		else if (n == 0 || (errno != EINTR && errno != EAGAIN))
			return io_error("recv", n);
	}
	return IO_OK;
}

/*
 * Sends @len bytes, @sent of them already; a kernel that stops reading
 * for the timeout makes it return IO_TIMEOUT.
 */
static enum io send_all(struct peer *p, const void *buf, size_t len, size_t *sent)
{
	long long deadline = now_ms() + p->timeout_ms;
	enum io r;
	ssize_t n;

	while (*sent < len) {
		r = wait_for(p, POLLOUT, deadline);
		if (r != IO_OK)
			return r;
		n = send(p->fd, (const u8 *)buf + *sent, len - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0)
			*sent += (size_t)n;
		else if (errno != EINTR && errno != EAGAIN)
			return io_error("send", n);
	}
	return IO_OK;
}

/*
 * Sends, and says when it could not: the kernel may close before reading
 * all of a bad message. What the kernel sent before still gets read.
 */
static void send_raw(struct peer *p, const void *buf, size_t len)
{
	size_t sent = 0;

	switch (send_all(p, buf, len, &sent)) {
	case IO_CLOSED:
		if (!p->closed)
			printf("send: the kernel closed the connection\n");
		p->closed = true;
		break;
	case IO_TIMEOUT:
		printf("send: the kernel stopped reading\n");
		break;
	case IO_OK:
		break;
	}
}

static struct rblk_msg_hdr make_hdr(u16 type, u32 len, u64 id)
{
	struct rblk_msg_hdr h = {
		.magic = cpu_to_be32(RBLK_PROTO_MAGIC),
		.type = cpu_to_be16(type),
		.len = cpu_to_be32(len),
		.id = cpu_to_be64(id),
	};

	return h;
}

/* Sends a message with @len payload bytes (@payload may be longer). */
static void send_msg(struct peer *p, struct rblk_msg_hdr h, const void *payload, size_t len)
{
	printf("send %s len %u id %llu\n",
	       name_of(type_names, ARRAY_SIZE(type_names), be16_to_cpu(h.type)),
	       be32_to_cpu(h.len), (unsigned long long)be64_to_cpu(h.id));
	send_raw(p, &h, HDR_LEN);
	if (len)
		send_raw(p, payload, len);
}

static void send_empty(struct peer *p, u16 type)
{
	send_msg(p, make_hdr(type, 0, 0), NULL, 0);
}

/* The first message: who this peer says it is, with a fresh nonce. */
static struct rblk_msg_connect good_connect(struct peer *p)
{
	struct rblk_msg_connect c = {
		.proto_min = cpu_to_be32(RBLK_PROTO_VERSION_MIN),
		.proto_max = cpu_to_be32(RBLK_PROTO_VERSION_MAX),
		.from_node = cpu_to_be32(p->node),
		.to_node = cpu_to_be32(p->to),
		.auth = cpu_to_be32(p->secret_len ? RBLK_WIRE_AUTH_HMAC_SHA256 :
				    RBLK_WIRE_AUTH_NONE),
	};

	memcpy(c.uuid, p->uuid, sizeof(c.uuid));
	if (RAND_bytes(c.nonce, sizeof(c.nonce)) != 1) {
		fprintf(stderr, "fake_peer: no random bytes\n");
		exit(1);
	}
	return c;
}

/*
 * A fresh node (no generation, consistent, primary), or with --follow a
 * secondary at the kernel's generation; the kernel's settings and features
 * (its HELLO, read first), so that they agree.
 */
static struct rblk_msg_hello good_hello(const struct peer *p)
{
	struct rblk_msg_hello h = {
		.features = p->kernel_hello.features,
		.data_size = cpu_to_be64(p->size),
		.flags = cpu_to_be32(RBLK_HELLO_F_CONSISTENT | RBLK_HELLO_F_PRIMARY),
		.conf = p->kernel_hello.conf,
	};

	if (p->follow) {
		/* A secondary with the primary's data. */
		h.flags = cpu_to_be32(RBLK_HELLO_F_CONSISTENT);
		h.current_gen = p->gen;
		h.promised = h.seen = p->gen.counter;
	}
	return h;
}

/*
 * Receives one message. A message the kernel should never send (bad
 * header, wrong length for its type, too long) ends the run: exit 1.
 */
static enum io recv_frame(struct peer *p, struct frame *f)
{
	enum io r = recv_all(p, &f->hdr, HDR_LEN);
	u16 type;
	u32 len;
	int want;

	if (r != IO_OK)
		return r;
	type = be16_to_cpu(f->hdr.type);
	len = be32_to_cpu(f->hdr.len);
	want = rblk_msg_fixed_len(type);
	/* A replicated write: its fixed part is kept, its data skipped. */
	if (type == RBLK_MSG_WRITE && len >= WRITE_LEN)
		want = (int)len;
	if (be32_to_cpu(f->hdr.magic) != RBLK_PROTO_MAGIC || f->hdr.pad ||
	    (f->hdr.flags && type != RBLK_MSG_WRITE) || want < 0 ||
	    len != (u32)want) {
		printf("FAIL: the kernel sent a bad message: magic %#x type %u flags %#x len %u pad %#x\n",
		       be32_to_cpu(f->hdr.magic), type, be16_to_cpu(f->hdr.flags), len,
		       be32_to_cpu(f->hdr.pad));
		exit(1);
	}
	if (type == RBLK_MSG_WRITE) {
		r = recv_all(p, &f->u.write, WRITE_LEN);
		for (len -= WRITE_LEN; r == IO_OK && len; ) {
			u8 skip[4096];
			u32 n = len < sizeof(skip) ? len : sizeof(skip);

			r = recv_all(p, skip, n);
			len -= n;
		}
		len = be32_to_cpu(f->hdr.len);
	} else {
		r = recv_all(p, &f->u, len);
	}
	if (r != IO_OK || p->quiet)
		return r;
	printf("recv %s len %u id %llu", name_of(type_names, ARRAY_SIZE(type_names), type),
	       len, (unsigned long long)be64_to_cpu(f->hdr.id));
	switch (type) {
	case RBLK_MSG_REFUSE:
		f->u.refuse.text[RBLK_PROTO_REASON_MAX - 1] = '\0';
		printf(": reason %s: %s", name_of(refuse_names, ARRAY_SIZE(refuse_names),
						  be32_to_cpu(f->u.refuse.reason)),
		       f->u.refuse.text);
		break;
	case RBLK_MSG_ACK:
		printf(": status %u promised %llu", be32_to_cpu(f->u.ack.status),
		       (unsigned long long)be64_to_cpu(f->u.ack.promised));
		break;
	case RBLK_MSG_WRITE:
		printf(": sector %llu size %u", (unsigned long long)be64_to_cpu(f->u.write.sector),
		       be32_to_cpu(f->u.write.size));
		break;
	case RBLK_MSG_STATE:
		printf(": flags %#x links %#x gen %llu:%u promised %llu",
		       be32_to_cpu(f->u.state.flags), be32_to_cpu(f->u.state.links),
		       (unsigned long long)be64_to_cpu(f->u.state.current_gen.counter),
		       be32_to_cpu(f->u.state.current_gen.origin),
		       (unsigned long long)be64_to_cpu(f->u.state.promised));
		break;
	}
	printf("\n");
	return IO_OK;
}

static int verdict(bool ok, const char *what)
{
	printf("%s: %s\n", ok ? "PASS" : "FAIL", what);
	return ok ? 0 : 1;
}

/*
 * The next message that is not a ping (pings are answered), or IO_CLOSED
 * or IO_TIMEOUT. Messages the kernel sent before it closed are read
 * first, even when a send already failed.
 */
static enum io next_frame(struct peer *p, struct frame *f)
{
	enum io r;
	u16 type;

	for (;;) {
		r = recv_frame(p, f);
		if (r != IO_OK)
			return r;
		type = be16_to_cpu(f->hdr.type);
		if (type == RBLK_MSG_REFUSE && p->joined)
			exit(verdict(false, "the kernel refused the good handshake"));
		if (type != RBLK_MSG_PING || p->shut)
			return r;
		send_empty(p, RBLK_MSG_PONG);
	}
}

static void dial(struct peer *p)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int err;

	err = getaddrinfo(p->host, p->port, &hints, &ai);
	if (err) {
		fprintf(stderr, "fake_peer: %s:%s: %s\n", p->host, p->port, gai_strerror(err));
		exit(2);
	}
	/* Retried until the deadline: the volume may not listen yet. */
	for (start_wait(p);; usleep(100 * 1000)) {
		p->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (p->fd < 0) {
			perror("socket");
			exit(1);
		}
		if (!connect(p->fd, ai->ai_addr, ai->ai_addrlen))
			break;
		err = errno;
		close(p->fd);
		if (now_ms() >= p->deadline) {
			printf("connect %s:%s: %s\n", p->host, p->port, strerror(err));
			exit(1);
		}
	}
	freeaddrinfo(ai);
	printf("connect %s:%s: connected\n", p->host, p->port);
}

/**
 * struct auth_input - what a MAC covers (docs/protocol.md; the kernel's
 *	struct rblk_auth_input)
 * @label:	"rblk auth v2" or "rblk keys v2", no NUL
 * @uuid:	the volume
 * @from:	the sender's (for the keys: the dialer's) node id
 * @to:		the receiver's (the acceptor's)
 * @from_nonce:	the sender's (the dialer's) nonce
 * @to_nonce:	the receiver's (the acceptor's)
 */
struct auth_input {
	char label[12];
	u8 uuid[16];
	__be32 from, to;
	u8 from_nonce[RBLK_NONCE_LEN], to_nonce[RBLK_NONCE_LEN];
} __attribute__((packed));

static void hmac256(const void *key, size_t key_len, const void *data, size_t len,
		    u8 out[RBLK_MAC_LEN])
{
	unsigned int n = RBLK_MAC_LEN;

	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) ||
	    n != RBLK_MAC_LEN) {
		fprintf(stderr, "fake_peer: HMAC-SHA256 failed\n");
		exit(1);
	}
}

static void auth_mac(const struct peer *p, const char *label, u32 from, u32 to,
		     const u8 *from_nonce, const u8 *to_nonce, u8 out[RBLK_MAC_LEN])
{
	struct auth_input in = { .from = cpu_to_be32(from), .to = cpu_to_be32(to) };

	memcpy(in.label, label, sizeof(in.label));
	memcpy(in.uuid, p->uuid, sizeof(in.uuid));
	memcpy(in.from_nonce, from_nonce, RBLK_NONCE_LEN);
	memcpy(in.to_nonce, to_nonce, RBLK_NONCE_LEN);
	hmac256(p->secret, p->secret_len, &in, sizeof(in), out);
}

/* The key of one direction, from the session's master key. */
static void tls_dir(const u8 *master, u32 from, u32 to, struct tls12_crypto_info_aes_gcm_128 *ci)
{
	struct {
		char label[11];
		__be32 from, to;
	} __attribute__((packed)) d = { .from = cpu_to_be32(from), .to = cpu_to_be32(to) };
	u8 m[RBLK_MAC_LEN];

	memcpy(d.label, "rblk tls v2", sizeof(d.label));
	hmac256(master, RBLK_MAC_LEN, &d, sizeof(d), m);
	*ci = (struct tls12_crypto_info_aes_gcm_128){
		.info.version = TLS_1_3_VERSION,
		.info.cipher_type = TLS_CIPHER_AES_GCM_128,
	};
	memcpy(ci->key, m, sizeof(ci->key));
	memcpy(ci->salt, m + sizeof(ci->key), sizeof(ci->salt));
	memcpy(ci->iv, m + sizeof(ci->key) + sizeof(ci->salt), sizeof(ci->iv));
}

/* Both directions in kernel TLS records, as the kernel does (the dialer). */
static void tls_on(struct peer *p)
{
	struct tls12_crypto_info_aes_gcm_128 tx, rx;
	u8 master[RBLK_MAC_LEN];

	auth_mac(p, "rblk keys v2", p->node, p->to, p->mine.nonce, p->theirs.nonce, master);
	tls_dir(master, p->node, p->to, &tx);
	tls_dir(master, p->to, p->node, &rx);
	if (setsockopt(p->fd, IPPROTO_TCP, TCP_ULP, "tls", strlen("tls")) ||
	    setsockopt(p->fd, SOL_TLS, TLS_TX, &tx, sizeof(tx)) ||
	    setsockopt(p->fd, SOL_TLS, TLS_RX, &rx, sizeof(rx))) {
		perror("fake_peer: kernel TLS");
		exit(1);
	}
	printf("kernel TLS on\n");
}

/* This peer's proof of the secret to the kernel, over both nonces. */
static struct rblk_msg_auth my_auth(const struct peer *p)
{
	struct rblk_msg_auth a;

	auth_mac(p, "rblk auth v2", p->node, p->to, p->mine.nonce, p->theirs.nonce, a.mac);
	return a;
}

/* Sends @c as this peer's CONNECT and reads the kernel's. Exit 1 when none. */
static void connect_exchange(struct peer *p, struct rblk_msg_connect c)
{
	struct frame f;

	p->mine = c;
	send_msg(p, make_hdr(RBLK_MSG_CONNECT, sizeof(c), 0), &c, sizeof(c));
	start_wait(p);
	if (next_frame(p, &f) != IO_OK || be16_to_cpu(f.hdr.type) != RBLK_MSG_CONNECT)
		exit(verdict(false, "no CONNECT from the kernel"));
	p->theirs = f.u.connect;
	printf("kernel CONNECT: proto %u..%u node %u to %u auth %u\n",
	       be32_to_cpu(p->theirs.proto_min), be32_to_cpu(p->theirs.proto_max),
	       be32_to_cpu(p->theirs.from_node), be32_to_cpu(p->theirs.to_node),
	       be32_to_cpu(p->theirs.auth));
}

/* AUTH both ways (the kernel's checked), then kernel TLS. Exit 1 when not. */
static void auth_exchange(struct peer *p, struct rblk_msg_auth a)
{
	u8 expect[RBLK_MAC_LEN];
	struct frame f;

	if (!p->secret_len)
		return;
	send_msg(p, make_hdr(RBLK_MSG_AUTH, sizeof(a), 0), &a, sizeof(a));
	start_wait(p);
	if (next_frame(p, &f) != IO_OK || be16_to_cpu(f.hdr.type) != RBLK_MSG_AUTH)
		exit(verdict(false, "no AUTH from the kernel"));
	auth_mac(p, "rblk auth v2", p->to, p->node, p->theirs.nonce, p->mine.nonce, expect);
	if (memcmp(expect, f.u.auth.mac, sizeof(expect)))
		exit(verdict(false, "the kernel's AUTH does not prove the secret"));
	tls_on(p);
}

/* The kernel's HELLO (it sends first), then ours. Exit 1 when none. */
static void hello_exchange(struct peer *p, void (*spoil)(struct rblk_msg_hello *h))
{
	const struct rblk_msg_hello *k = &p->kernel_hello;
	struct rblk_msg_hello h;
	struct frame f;

	start_wait(p);
	if (next_frame(p, &f) != IO_OK || be16_to_cpu(f.hdr.type) != RBLK_MSG_HELLO)
		exit(verdict(false, "no HELLO from the kernel"));
	p->kernel_hello = f.u.hello;
	printf("kernel HELLO: size %llu flags %#x gen %llu:%u promised %llu features %#llx\n",
	       (unsigned long long)be64_to_cpu(k->data_size), be32_to_cpu(k->flags),
	       (unsigned long long)be64_to_cpu(k->current_gen.counter),
	       be32_to_cpu(k->current_gen.origin),
	       (unsigned long long)be64_to_cpu(k->promised),
	       (unsigned long long)be64_to_cpu(k->features));
	if (be64_to_cpu(k->data_size) != p->size)
		exit(verdict(false, "the kernel's HELLO does not match ours"));
	h = good_hello(p);
	if (spoil)
		spoil(&h);
	send_msg(p, make_hdr(RBLK_MSG_HELLO, sizeof(h), 0), &h, sizeof(h));
}

/* The whole handshake, good. Exit 1 when the kernel does not take it. */
static void handshake(struct peer *p)
{
	connect_exchange(p, good_connect(p));
	auth_exchange(p, my_auth(p));
	hello_exchange(p, NULL);
	p->joined = true;
	p->digest = be64_to_cpu(p->kernel_hello.features) & RBLK_PROTO_F_DIGEST;
	printf("data digest %s\n", p->digest ? "on" : "off");
}

/* --- the bad things ------------------------------------------------------ */

static void spoil_version(struct rblk_msg_connect *c)
{
	c->proto_min = c->proto_max = cpu_to_be32(99);
}

static void spoil_uuid(struct rblk_msg_connect *c)
{
	c->uuid[0] ^= 0xff;
}

static void spoil_node(struct rblk_msg_connect *c)
{
	c->to_node = cpu_to_be32((be32_to_cpu(c->to_node) + 1) % RBLK_MAX_NODES);
}

/* Offers no authentication (the volume has a secret). */
static void spoil_auth(struct rblk_msg_connect *c)
{
	c->auth = cpu_to_be32(RBLK_WIRE_AUTH_NONE);
}

static void spoil_size(struct rblk_msg_hello *h)
{
	h->data_size = cpu_to_be64(be64_to_cpu(h->data_size) + 4096);
}

/* The other topology: the settings do not agree. */
static void spoil_topology(struct rblk_msg_hello *h)
{
	h->conf.topology = cpu_to_be32(!be32_to_cpu(h->conf.topology));
}

/* A generation and promise at the top of what the wire allows. */
static void spoil_huge_gen(struct rblk_msg_hello *h)
{
	h->current_gen.counter = cpu_to_be64(RBLK_PROTO_GEN_MAX - 1);
	h->current_gen.origin = 0;
	h->promised = h->seen = h->current_gen.counter;
	h->flags = cpu_to_be32(RBLK_HELLO_F_CONSISTENT);
}

/* A CONNECT as m->connect leaves it; the kernel refuses before answering. */
static void act_connect(struct peer *p, const struct mode *m)
{
	struct rblk_msg_connect c = good_connect(p);

	m->connect(&c);
	send_msg(p, make_hdr(RBLK_MSG_CONNECT, sizeof(c), 0), &c, sizeof(c));
}

/* CONNECT and AUTH good, then a HELLO as m->hello leaves it. */
static void act_spoiled_hello(struct peer *p, const struct mode *m)
{
	connect_exchange(p, good_connect(p));
	auth_exchange(p, my_auth(p));
	hello_exchange(p, m->hello);
}

/* A second HELLO, after a good handshake. */
static void act_hello(struct peer *p, const struct mode *m)
{
	struct rblk_msg_hello h = good_hello(p);

	(void)m;
	send_msg(p, make_hdr(RBLK_MSG_HELLO, sizeof(h), 0), &h, sizeof(h));
}

/* What a protocol 1 peer sends first: a HELLO with versions 1..1. */
static void act_v1_hello(struct peer *p, const struct mode *m)
{
	u8 hello[RBLK_PROTO_V1_HELLO_LEN] = { 0 };
	__be32 v = cpu_to_be32(1);

	(void)m;
	memcpy(hello, &v, sizeof(v));
	memcpy(hello + sizeof(v), &v, sizeof(v));
	send_msg(p, make_hdr(RBLK_MSG_HELLO, sizeof(hello), 0), hello, sizeof(hello));
}

/*
 * AUTH with a proof the kernel must reject: made with --secret-file, which
 * the test gives a wrong secret (or, with --follow, a peer claiming to be
 * in sync), and without checking the kernel's.
 */
static void act_bad_auth(struct peer *p, const struct mode *m)
{
	struct rblk_msg_auth a;

	(void)m;
	connect_exchange(p, good_connect(p));
	a = my_auth(p);
	send_msg(p, make_hdr(RBLK_MSG_AUTH, sizeof(a), 0), &a, sizeof(a));
}

/*
 * Records a good CONNECT and AUTH, then plays them again on a new
 * connection, as someone who listened to a handshake would: the kernel's
 * new nonce makes the old proof worthless.
 */
static void act_replay(struct peer *p, const struct mode *m)
{
	struct rblk_msg_connect c = good_connect(p);
	struct rblk_msg_auth a;
	struct frame f;

	(void)m;
	connect_exchange(p, c);
	a = my_auth(p);
	send_msg(p, make_hdr(RBLK_MSG_AUTH, sizeof(a), 0), &a, sizeof(a));
	start_wait(p);
	if (next_frame(p, &f) != IO_OK || be16_to_cpu(f.hdr.type) != RBLK_MSG_AUTH)
		exit(verdict(false, "no AUTH from the kernel for the recording"));
	printf("recorded a good handshake; now replaying it\n");
	close(p->fd);
	dial(p);
	p->mine = c;
	send_msg(p, make_hdr(RBLK_MSG_CONNECT, sizeof(c), 0), &c, sizeof(c));
	send_msg(p, make_hdr(RBLK_MSG_AUTH, sizeof(a), 0), &a, sizeof(a));
}

/* CONNECT, then a WRITE where the AUTH is due. */
static void act_write_unauth(struct peer *p, const struct mode *m)
{
	struct {
		struct rblk_msg_write w;
		u8 data[4096];
	} msg = {
		.w.size = cpu_to_be32(4096),
		.w.op = cpu_to_be32(RBLK_WOP_WRITE),
	};

	(void)m;
	connect_exchange(p, good_connect(p));
	memset(msg.data, p->pattern, sizeof(msg.data));
	send_msg(p, make_hdr(RBLK_MSG_WRITE, sizeof(msg), GOOD_ID), &msg, sizeof(msg));
}

/* CONNECT, an AUTH of zeros, and at once an ACK, as if for a write. */
static void act_forge_ack(struct peer *p, const struct mode *m)
{
	struct rblk_ack_frame f = {
		.h = make_hdr(RBLK_MSG_ACK, sizeof(f.a), GOOD_ID),
		.a.status = cpu_to_be32(RBLK_ACK_OK),
	};
	struct rblk_msg_auth a = { { 0 } };

	(void)m;
	connect_exchange(p, good_connect(p));
	send_msg(p, make_hdr(RBLK_MSG_AUTH, sizeof(a), 0), &a, sizeof(a));
	printf("send ACK id %d\n", GOOD_ID);
	send_raw(p, &f, sizeof(f));
}

/* After a good handshake: a STATE whose promise is at the wire's top. */
static void act_huge_state(struct peer *p, const struct mode *m)
{
	struct rblk_msg_state st = {
		.flags = cpu_to_be32(RBLK_STATE_F_CONSISTENT),
		.promised = cpu_to_be64(RBLK_PROTO_GEN_MAX - 1),
	};

	(void)m;
	send_msg(p, make_hdr(RBLK_MSG_STATE, sizeof(st), 0), &st, sizeof(st));
}

/* After a good handshake: a PROMISE request at the wire's top. */
static void act_huge_promise(struct peer *p, const struct mode *m)
{
	struct rblk_msg_promise pr = { .counter = cpu_to_be64(RBLK_PROTO_GEN_MAX - 1) };

	(void)m;
	send_msg(p, make_hdr(RBLK_MSG_PROMISE, sizeof(pr), (1ULL << 63) | 1), &pr,
		 sizeof(pr));
}

/*
 * After a good handshake as a primary: NEW_GEN to the kernel's generation
 * plus one, created by node 99, which no metadata can hold.
 */
static void act_bad_new_gen(struct peer *p, const struct mode *m)
{
	struct rblk_msg_new_gen ng = {
		.prev = p->kernel_hello.current_gen,
		.gen.counter = cpu_to_be64(be64_to_cpu(p->kernel_hello.current_gen.counter) + 1),
		.gen.origin = cpu_to_be32(99),
	};

	(void)m;
	send_msg(p, make_hdr(RBLK_MSG_NEW_GEN, sizeof(ng), (1ULL << 63) | 2), &ng,
		 sizeof(ng));
}

static void act_bad_magic(struct peer *p, const struct mode *m)
{
	static const char garbage[HDR_LEN] = "GET / HTTP/1.0\r\n\r\nxxxxx";

	(void)m;
	printf("send %zu bytes of garbage\n", sizeof(garbage));
	send_raw(p, garbage, sizeof(garbage));
}

static void act_huge_len(struct peer *p, const struct mode *m)
{
	(void)m;
	send_msg(p, make_hdr(RBLK_MSG_CONNECT, 0xffffffffU, 0), NULL, 0);
}

/* Half of a CONNECT, then silence: the kernel must time the handshake out. */
static void act_truncated_hello(struct peer *p, const struct mode *m)
{
	struct rblk_msg_connect c = good_connect(p);
	struct rblk_msg_hdr hdr = make_hdr(RBLK_MSG_CONNECT, sizeof(c), 0);

	(void)m;
	printf("send CONNECT header and %zu of %zu payload bytes, then stay silent\n",
	       sizeof(c) / 2, sizeof(c));
	send_raw(p, &hdr, HDR_LEN);
	send_raw(p, &c, sizeof(c) / 2);
}

/*
 * --count connections that say nothing: the kernel must close every one
 * of them by the timeout (a handshake's deadline is connect-timeout).
 */
static void act_silent(struct peer *p, const struct mode *m)
{
	int first = p->fd, n;

	(void)m;
	p->extra = calloc((size_t)p->count, sizeof(int));
	if (!p->extra) {
		perror("calloc");
		exit(1);
	}
	p->extra[0] = first;
	for (n = 1; n < p->count; n++) {
		dial(p);
		p->extra[n] = p->fd;
	}
	p->fd = first;
	printf("%d connections open, silent\n", p->count);
}

/* Half of a WRITE header, then EOF (this side's; it still reads). */
static void act_truncated_frame(struct peer *p, const struct mode *m)
{
	struct rblk_msg_hdr hdr = make_hdr(RBLK_MSG_WRITE, WRITE_LEN + 4096, GOOD_ID);

	(void)m;
	printf("send %zu of %zu header bytes of a WRITE, then shut down sending\n",
	       HDR_LEN / 2, HDR_LEN);
	send_raw(p, &hdr, HDR_LEN / 2);
	shutdown(p->fd, SHUT_WR);
	p->shut = true;
}

/*
 * In one send(), so that a primary's socket callback sees it whole. With
 * --follow, only once the kernel sent its STATE and has had a moment to
 * wait for the next frame: then the callback, not the thread, takes it.
 */
static void act_unknown_ack(struct peer *p, const struct mode *m)
{
	struct rblk_ack_frame f = {
		.h = make_hdr(RBLK_MSG_ACK, sizeof(f.a), 12345),
		.a.status = cpu_to_be32(RBLK_ACK_OK),
	};
	struct frame in;

	(void)m;
	if (p->follow) {
		start_wait(p);
		do {
			if (next_frame(p, &in) != IO_OK)
				exit(verdict(false, "no STATE from the kernel"));
		} while (be16_to_cpu(in.hdr.type) != RBLK_MSG_STATE);
		usleep(SETTLE_MS * 1000);
	}
	printf("send ACK len %zu id 12345, in one piece\n", sizeof(f.a));
	send_raw(p, &f, sizeof(f));
}

/*
 * Resync messages out of place: RS_DATA (4 KiB of the pattern) from a node
 * that is not the receiver's sync source, an RS_ACK for no request, an
 * RS_OOS of no sectors that is not the last, an RS_DONE with an id.
 */
static void act_rs_data(struct peer *p, const struct mode *m)
{
	struct {
		struct rblk_msg_hdr h;
		struct rblk_msg_rs_data d;
		u8 data[4096];
	} __attribute__((packed)) f = {
		.h = make_hdr(RBLK_MSG_RS_DATA, sizeof(f.d) + sizeof(f.data), 7),
		.d.size = cpu_to_be32(sizeof(f.data)),
		.d.gen.counter = cpu_to_be64(1),
	};

	(void)m;
	memset(f.data, p->pattern, sizeof(f.data));
	printf("send RS_DATA of 4096 bytes at sector 0, not being a sync source\n");
	send_raw(p, &f, sizeof(f));
}

static void act_rs_ack(struct peer *p, const struct mode *m)
{
	struct rblk_ack_frame f = {
		.h = make_hdr(RBLK_MSG_RS_ACK, sizeof(f.a), 7),
	};

	(void)m;
	printf("send RS_ACK id 7, for no resync request\n");
	send_raw(p, &f, sizeof(f));
}

static void act_rs_oos(struct peer *p, const struct mode *m)
{
	struct {
		struct rblk_msg_hdr h;
		struct rblk_msg_rs_oos o;
	} __attribute__((packed)) f = {
		.h = make_hdr(RBLK_MSG_RS_OOS, sizeof(f.o), 0),
	};

	(void)m;
	printf("send RS_OOS of 0 sectors, not the last\n");
	send_raw(p, &f, sizeof(f));
}

static void act_rs_done(struct peer *p, const struct mode *m)
{
	struct {
		struct rblk_msg_hdr h;
		struct rblk_msg_rs_done d;
	} __attribute__((packed)) f = {
		.h = make_hdr(RBLK_MSG_RS_DONE, sizeof(f.d), 5),
	};

	(void)m;
	printf("send RS_DONE with id 5\n");
	send_raw(p, &f, sizeof(f));
}

static void act_bad_pad(struct peer *p, const struct mode *m)
{
	struct rblk_msg_hdr hdr = make_hdr(RBLK_MSG_PING, 0, 0);

	(void)m;
	hdr.pad = cpu_to_be32(0xdeadbeef);
	printf("send PING with pad 0xdeadbeef\n");
	send_raw(p, &hdr, HDR_LEN);
}

static void act_bad_links(struct peer *p, const struct mode *m)
{
	struct rblk_msg_state st = { .links = cpu_to_be32(1U << 20) };

	(void)m;
	/* Its HELLO offers RBLK_PROTO_F_LINKS: only the range is wrong. */
	printf("send STATE saying it is connected to node 20\n");
	send_msg(p, make_hdr(RBLK_MSG_STATE, sizeof(st), 0), &st, sizeof(st));
}

/*
 * A WRITE (data: the pattern byte) shaped by the mode's fields; with the
 * digest on, the data's CRC32C follows (spoiled for bad_crc).
 */
static void act_write(struct peer *p, const struct mode *m)
{
	u32 size = m->size ? m->size : 4096;
	size_t data = m->data ? m->data : size;
	size_t crc_len = p->digest ? sizeof(__be32) : 0;
	u64 sector = m->from_end ? p->size / 512 - m->sector : m->sector;
	struct rblk_msg_hdr hdr = make_hdr(RBLK_MSG_WRITE, WRITE_LEN + data + crc_len,
					   GOOD_ID);
	struct rblk_msg_write *w = malloc(WRITE_LEN + data + crc_len);

	if (!w) {
		perror("malloc");
		exit(1);
	}
	*w = (struct rblk_msg_write) {
		.sector = cpu_to_be64(sector),
		.size = cpu_to_be32(size),
		.op = cpu_to_be32(RBLK_WOP_WRITE),
		.gen.counter = cpu_to_be64(m->counter),
		.route.len = m->route_len,
		.route.nodes[0] = m->route0,
	};
	memset(w + 1, p->pattern, data);
	if (crc_len) {
		__be32 crc = cpu_to_be32(~crc32c(~0U, w + 1, data) ^ (m->bad_crc ? 1 : 0));

		memcpy((u8 *)(w + 1) + data, &crc, sizeof(crc));
	}
	hdr.flags = cpu_to_be16(m->flags);
	printf("WRITE sector %llu size %u flags %#x, %zu data bytes%s\n",
	       (unsigned long long)sector, size, m->flags, data,
	       crc_len ? (m->bad_crc ? ", wrong CRC32C" : ", CRC32C") : "");
	send_msg(p, hdr, w, WRITE_LEN + data + crc_len);
	free(w);
}

static struct rblk_msg_hdr flood[FLOOD_PINGS_MAX];

static void act_flood(struct peer *p, const struct mode *m)
{
	size_t sent = 0;

	(void)m;
	for (size_t i = 0; i < p->pings; i++)
		flood[i] = make_hdr(RBLK_MSG_PING, 0, 0);
	printf("send %zu PINGs without reading\n", p->pings);
	send_all(p, flood, p->pings * HDR_LEN, &sent);
	p->flood_left = p->pings * HDR_LEN - sent;
	printf("the kernel took %zu of them\n", sent / HDR_LEN);
}

/*
 * split-ack (with --follow): the kernel's next writes each get their ACK in
 * three pieces, SPLIT_PAUSE_MS apart, so that no piece holds a whole ACK;
 * then the FLUSH that follows gets a whole one (it closes the writes'
 * flush epoch: without it the kernel resyncs them at the next connection).
 */
static void act_split_ack(struct peer *p, const struct mode *m)
{
	struct rblk_ack_frame ack;
	const size_t cut[] = { 7, HDR_LEN + 3, sizeof(ack) };
	struct frame f;
	int n = 0, one = 1;

	(void)m;
	/* Each piece its own segment: no Nagle merging the last two. */
	if (setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) {
		perror("setsockopt TCP_NODELAY");
		exit(1);
	}
	for (start_wait(p); n < SPLIT_WRITES && next_frame(p, &f) == IO_OK;) {
		size_t from = 0;

		if (be16_to_cpu(f.hdr.type) != RBLK_MSG_WRITE)
			continue;
		ack.h = make_hdr(RBLK_MSG_ACK, sizeof(ack.a), be64_to_cpu(f.hdr.id));
		ack.a = (struct rblk_msg_ack){ .status = cpu_to_be32(RBLK_ACK_OK),
					       .promised = p->gen.counter };
		printf("send ACK id %llu in %zu pieces\n",
		       (unsigned long long)be64_to_cpu(f.hdr.id), ARRAY_SIZE(cut));
		for (size_t i = 0; i < ARRAY_SIZE(cut); i++) {
			send_raw(p, (u8 *)&ack + from, cut[i] - from);
			from = cut[i];
			if (i + 1 < ARRAY_SIZE(cut))
				usleep(SPLIT_PAUSE_MS * 1000);
		}
		n++;
	}
	printf("answered %d of %d writes\n", n, SPLIT_WRITES);
	if (n < SPLIT_WRITES)
		exit(verdict(false, "the kernel did not send the writes"));
	while (next_frame(p, &f) == IO_OK) {
		if (be16_to_cpu(f.hdr.type) != RBLK_MSG_FLUSH)
			continue;
		ack.h = make_hdr(RBLK_MSG_ACK, sizeof(ack.a), be64_to_cpu(f.hdr.id));
		send_raw(p, (u8 *)&ack, sizeof(ack));
		printf("answered the FLUSH\n");
		return;
	}
	exit(verdict(false, "the kernel did not send the flush"));
}

/* --- what the kernel must do ---------------------------------------------- */

/* Drop the connection (with a REFUSE first, before a handshake). */
static int check_drop(struct peer *p, const struct mode *m)
{
	struct frame f;
	enum io r;

	(void)m;
	start_wait(p);
	do
		r = next_frame(p, &f);
	while (r == IO_OK);
	if (r == IO_CLOSED)
		return verdict(true, "the kernel dropped the connection");
	printf("the connection is still up after %d ms\n", p->timeout_ms);
	return verdict(false, "the kernel did not drop the connection");
}

/* REFUSE with the mode's reason, then close. */
static int check_refuse(struct peer *p, const struct mode *m)
{
	const char *want = name_of(refuse_names, ARRAY_SIZE(refuse_names), (u32)m->refuse);
	struct frame f;

	printf("expect REFUSE %s, then a close\n", want);
	start_wait(p);
	/*
	 * The kernel's own CONNECT may come first, and its AUTH once this
	 * peer proved the secret: never to a peer refused for its proof.
	 */
	do {
		if (next_frame(p, &f) != IO_OK)
			return verdict(false, "no REFUSE");
		if (be16_to_cpu(f.hdr.type) == RBLK_MSG_AUTH && m->refuse == RBLK_REFUSE_AUTH)
			return verdict(false, "the kernel proved the secret to a peer that did not");
	} while (be16_to_cpu(f.hdr.type) == RBLK_MSG_CONNECT ||
		 be16_to_cpu(f.hdr.type) == RBLK_MSG_AUTH);
	if (be16_to_cpu(f.hdr.type) != RBLK_MSG_REFUSE)
		return verdict(false, "no REFUSE");
	if (be32_to_cpu(f.u.refuse.reason) != (u32)m->refuse)
		return verdict(false, "REFUSE with another reason");
	return check_drop(p, m);
}

/* good-write: ACK OK for it. */
static int check_ack(struct peer *p, const struct mode *m)
{
	struct frame f;

	(void)m;
	for (start_wait(p); next_frame(p, &f) == IO_OK;) {
		if (be16_to_cpu(f.hdr.type) != RBLK_MSG_ACK)
			continue;
		if (be64_to_cpu(f.hdr.id) != GOOD_ID)
			return verdict(false, "ACK for another id");
		return verdict(be32_to_cpu(f.u.ack.status) == RBLK_ACK_OK, "ACK for the write");
	}
	return verdict(false, "no ACK for the write");
}

/* split-ack: the connection stays up (pings answered) for QUIET_MS. */
static int check_kept(struct peer *p, const struct mode *m)
{
	struct frame f;
	enum io r;

	(void)m;
	p->deadline = now_ms() + QUIET_MS;
	do
		r = next_frame(p, &f);
	while (r == IO_OK);
	if (r == IO_CLOSED)
		return verdict(false, "the kernel dropped the connection");
	return verdict(true, "the kernel kept the connection");
}

/*
 * flood: once the PONGs stop coming (QUIET_MS), one more PING must be
 * answered; a dropped connection is fine too.
 */
static int check_alive(struct peer *p, const struct mode *m)
{
	long long end = now_ms() + p->timeout_ms;
	unsigned long pongs = 0;
	struct frame f;
	enum io r;

	(void)m;
	p->quiet = true;
	do {
		p->deadline = now_ms() + QUIET_MS;
		r = next_frame(p, &f);
		pongs += r == IO_OK && be16_to_cpu(f.hdr.type) == RBLK_MSG_PONG;
	} while (r == IO_OK && now_ms() < end);
	p->quiet = false;
	printf("received %lu PONGs\n", pongs);
	if (r == IO_CLOSED)
		return verdict(true, "the kernel dropped the connection");
	if (r == IO_OK)
		return verdict(false, "the kernel kept sending");
	/* The rest of a PING the kernel stopped reading in. */
	send_raw(p, (u8 *)&flood[0] + HDR_LEN - p->flood_left % HDR_LEN,
		 p->flood_left % HDR_LEN);
	send_empty(p, RBLK_MSG_PING);
	for (start_wait(p); (r = next_frame(p, &f)) == IO_OK;)
		if (be16_to_cpu(f.hdr.type) == RBLK_MSG_PONG)
			return verdict(true, "the kernel answered a PING after the flood");
	if (r == IO_CLOSED)
		return verdict(true, "the kernel dropped the connection");
	return verdict(false, "no PONG after the flood");
}

/* silent: every connection closed by the kernel within the timeout. */
static int check_silent(struct peer *p, const struct mode *m)
{
	long long end = now_ms() + p->timeout_ms;
	int open = p->count, i;
	u8 buf[4096];

	(void)m;
	while (open && now_ms() < end) {
		struct pollfd pfd[256];
		int n = 0;

		for (i = 0; i < p->count && n < (int)ARRAY_SIZE(pfd); i++)
			if (p->extra[i] >= 0)
				pfd[n++] = (struct pollfd){ .fd = p->extra[i], .events = POLLIN };
		if (poll(pfd, (nfds_t)n, 100) < 0 && errno != EINTR) {
			perror("poll");
			exit(1);
		}
		for (i = 0; i < p->count; i++) {
			ssize_t r;

			if (p->extra[i] < 0)
				continue;
			r = recv(p->extra[i], buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR)))
				continue;
			close(p->extra[i]);
			p->extra[i] = -1;
			open--;
		}
	}
	printf("%d of %d silent connections closed by the kernel\n", p->count - open,
	       p->count);
	p->fd = -1;
	return verdict(!open, "the kernel closed every silent connection");
}

#define CONNECT_MODE(n, spoil, why) \
	{ .name = n, .act = act_connect, .check = check_refuse, .connect = spoil, .refuse = why }
#define HELLO_MODE(n, spoil, why) \
	{ .name = n, .act = act_spoiled_hello, .check = check_refuse, .hello = spoil, \
	  .refuse = why }
#define REFUSE_MODE(n, fn, why) { .name = n, .act = fn, .check = check_refuse, .refuse = why }
#define PRE_MODE(n, fn) { .name = n, .act = fn, .check = check_drop }
#define POST_MODE(n, fn) { .name = n, .handshake = true, .act = fn, .check = check_drop }
#define WRITE_MODE(n, ...) \
	{ .name = n, .handshake = true, .act = act_write, .check = check_drop, __VA_ARGS__ }

static const struct mode modes[] = {
	PRE_MODE("bad-magic", act_bad_magic),
	CONNECT_MODE("bad-version", spoil_version, RBLK_REFUSE_PROTO),
	CONNECT_MODE("wrong-uuid", spoil_uuid, RBLK_REFUSE_UUID),
	CONNECT_MODE("wrong-node", spoil_node, RBLK_REFUSE_NODE),
	CONNECT_MODE("no-auth", spoil_auth, RBLK_REFUSE_AUTH),
	REFUSE_MODE("v1-hello", act_v1_hello, RBLK_REFUSE_PROTO),
	REFUSE_MODE("bad-auth", act_bad_auth, RBLK_REFUSE_AUTH),
	REFUSE_MODE("replay", act_replay, RBLK_REFUSE_AUTH),
	REFUSE_MODE("forge-ack", act_forge_ack, RBLK_REFUSE_AUTH),
	PRE_MODE("write-unauth", act_write_unauth),
	HELLO_MODE("size-mismatch", spoil_size, RBLK_REFUSE_SIZE),
	HELLO_MODE("config-mismatch", spoil_topology, RBLK_REFUSE_CONFIG),
	HELLO_MODE("huge-gen", spoil_huge_gen, RBLK_REFUSE_GEN),
	POST_MODE("huge-state", act_huge_state),
	POST_MODE("huge-promise", act_huge_promise),
	POST_MODE("bad-new-gen", act_bad_new_gen),
	{ .name = "silent", .act = act_silent, .check = check_silent },
	PRE_MODE("huge-len", act_huge_len),
	PRE_MODE("truncated-hello", act_truncated_hello),
	POST_MODE("truncated-frame", act_truncated_frame),
	POST_MODE("unknown-ack", act_unknown_ack),
	WRITE_MODE("write-beyond-end", .from_end = true, .sector = 1),
	WRITE_MODE("write-wrap", .sector = U64_MAX - 7),
	WRITE_MODE("write-len-lie", .data = 2048),
	WRITE_MODE("write-unaligned", .size = 100),
	WRITE_MODE("bad-flags", .flags = (u16)~RBLK_MSG_F_ALL),
	WRITE_MODE("bad-digest", .bad_crc = true),
	WRITE_MODE("gen-too-big", .counter = 1ULL << 62),
	WRITE_MODE("gen-jump", .counter = (1ULL << 24) + 2),
	WRITE_MODE("route-too-long", .route_len = 15),
	WRITE_MODE("route-to-self", .route_len = 1, .route0 = 1),
	WRITE_MODE("route-to-sender", .route_len = 1, .route0 = 0),
	POST_MODE("rs-data", act_rs_data),
	POST_MODE("rs-ack", act_rs_ack),
	POST_MODE("rs-oos", act_rs_oos),
	POST_MODE("rs-done", act_rs_done),
	POST_MODE("bad-pad", act_bad_pad),
	POST_MODE("bad-links", act_bad_links),
	POST_MODE("second-hello", act_hello),
	{ .name = "flood", .handshake = true, .act = act_flood, .check = check_alive },
	{ .name = "good-write", .handshake = true, .act = act_write, .check = check_ack },
	{ .name = "split-ack", .handshake = true, .act = act_split_ack, .check = check_kept },
};

static void usage(void)
{
	fprintf(stderr, "usage: fake_peer --connect ADDR:PORT --uuid UUID --node N --to M\n"
		"                 --size BYTES --mode MODE [--timeout-ms T] [--pattern BYTE]\n"
		"                 [--follow COUNTER:ORIGIN] [--pings N] [--secret-file F]\n"
		"                 [--count N]\n"
		"modes:");
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		fprintf(stderr, " %s", modes[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

static unsigned long long number(const char *s, unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v > max)
		usage();
	return v;
}

/* --secret-file F: 1 to RBLK_SECRET_MAX bytes, as the kernel takes them. */
static void read_secret(struct peer *p, const char *path)
{
	FILE *f = fopen(path, "rb");

	if (!f) {
		perror(path);
		exit(2);
	}
	p->secret_len = fread(p->secret, 1, sizeof(p->secret), f);
	if (!p->secret_len || fgetc(f) != EOF)
		usage();
	fclose(f);
}

/* --follow COUNTER:ORIGIN */
static void follow(struct peer *p, const char *arg)
{
	char counter[32];
	const char *colon = strchr(arg, ':');

	if (!colon || (size_t)(colon - arg) >= sizeof(counter))
		usage();
	memcpy(counter, arg, (size_t)(colon - arg));
	counter[colon - arg] = '\0';
	p->follow = true;
	p->gen.counter = cpu_to_be64(number(counter, RBLK_PROTO_GEN_MAX - 1));
	p->gen.origin = cpu_to_be32((u32)number(colon + 1, RBLK_MAX_NODES - 1));
}

static const struct mode *parse(int argc, char **argv, struct peer *p)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "node", required_argument, NULL, 'n' },
		{ "to", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "follow", required_argument, NULL, 'f' },
		{ "pings", required_argument, NULL, 'P' },
		{ "secret-file", required_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	const char *mode = NULL, *connect_to = NULL, *uuid = NULL;
	char *colon;
	int opt;

	*p = (struct peer) { .timeout_ms = 5000, .pattern = 0xa5, .fd = -1, .node = ~0U,
			     .pings = FLOOD_PINGS_MAX, .count = 1 };
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': connect_to = optarg; break;
		case 'u': uuid = optarg; break;
		case 'n': p->node = (u32)number(optarg, RBLK_MAX_NODES - 1); break;
		case 't': p->to = (u32)number(optarg, RBLK_MAX_NODES - 1); break;
		case 's': p->size = number(optarg, U64_MAX); break;
		case 'm': mode = optarg; break;
		case 'T': p->timeout_ms = (int)number(optarg, 3600 * 1000); break;
		case 'p': p->pattern = (u8)number(optarg, 0xff); break;
		case 'f': follow(p, optarg); break;
		case 'P': p->pings = number(optarg, FLOOD_PINGS_MAX); break;
		case 'S': read_secret(p, optarg); break;
		case 'C': p->count = (int)number(optarg, 1000); break;
		default: usage();
		}
	}
	if (optind != argc || !mode || !connect_to || !uuid || uuid_parse(uuid, p->uuid) ||
	    !p->pings || p->node >= p->to || p->size < 4096 || p->size % 512 ||
	    strlen(connect_to) >= sizeof(p->host))
		usage();
	/* HOST:PORT, or [IPV6]:PORT */
	strcpy(p->host, connect_to[0] == '[' ? connect_to + 1 : connect_to);
	colon = strrchr(p->host, ':');
	if (!colon)
		usage();
	*colon = '\0';
	p->port = colon + 1;
	if (colon > p->host && colon[-1] == ']')
		colon[-1] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (!strcmp(modes[i].name, mode))
			return &modes[i];
	usage();
	return NULL;
}

int main(int argc, char **argv)
{
	const struct mode *m;
	struct peer p;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	m = parse(argc, argv, &p);
	printf("mode %s: node %u dials node %u\n", m->name, p.node, p.to);
	dial(&p);
	if (m->handshake)
		handshake(&p);
	m->act(&p, m);
	rc = m->check(&p, m);
	if (p.fd >= 0)
		close(p.fd);
	return rc;
}
