// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - authentication of a connection (docs/protocol.md, "2. AUTH: the
 * proof of the secret" and "3. Kernel TLS"): the HMAC-SHA256 proofs of the volume's shared secret
 * that both sides exchange in AUTH, and the kernel TLS keys both
 * directions use from then on, derived from the secret and both sides'
 * nonces. The test peer (tests/helpers/fake_peer.c) computes the same with
 * OpenSSL.
 */
#include <crypto/hash.h>
#include <crypto/utils.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/tls.h>
#include <net/tcp.h>

#include "rblk.h"

/**
 * struct rblk_auth_input - what a MAC covers
 * @label:	"rblk auth v2" (a proof) or "rblk keys v2" (the session's
 *		master key), without a NUL
 * @uuid:	the volume's UUID
 * @from:	the sender's node id (for the keys: the dialer's)
 * @to:		the receiver's node id (for the keys: the acceptor's)
 * @from_nonce:	the sender's nonce (for the keys: the dialer's)
 * @to_nonce:	the receiver's nonce (for the keys: the acceptor's)
 */
struct rblk_auth_input {
	char label[12];
	u8 uuid[16];
	__be32 from;
	__be32 to;
	u8 from_nonce[RBLK_NONCE_LEN];
	u8 to_nonce[RBLK_NONCE_LEN];
} __packed;

/**
 * struct rblk_auth_dir - what the key of one direction covers
 * @label:	"rblk tls v2", without a NUL
 * @from:	the sending node's id
 * @to:		the receiving node's id
 */
struct rblk_auth_dir {
	char label[11];
	__be32 from;
	__be32 to;
} __packed;

/* HMAC-SHA256 of @len bytes at @data with @key into @out. */
static int rblk_auth_hmac(const u8 *key, u32 key_len, const void *data,
			  u32 len, u8 out[RBLK_MAC_LEN])
{
	struct crypto_shash *tfm;
	int err;

	tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	err = crypto_shash_setkey(tfm, key, key_len) ?:
	      crypto_shash_tfm_digest(tfm, data, len, out);
	crypto_free_shash(tfm);
	return err;
}

static void rblk_auth_fill(struct rblk_auth_input *in, const char *label,
			   const u8 *uuid, u32 from, u32 to,
			   const u8 *from_nonce, const u8 *to_nonce)
{
	BUILD_BUG_ON(sizeof(*in) != 100);
	memcpy(in->label, label, sizeof(in->label));
	memcpy(in->uuid, uuid, sizeof(in->uuid));
	in->from = cpu_to_be32(from);
	in->to = cpu_to_be32(to);
	memcpy(in->from_nonce, from_nonce, RBLK_NONCE_LEN);
	memcpy(in->to_nonce, to_nonce, RBLK_NONCE_LEN);
}

void rblk_auth_nonce(u8 nonce[RBLK_NONCE_LEN])
{
	get_random_bytes(nonce, RBLK_NONCE_LEN);
}

int rblk_auth_mac(const struct rblk_secret *s, const u8 *uuid, u32 from,
		  u32 to, const u8 *from_nonce, const u8 *to_nonce,
		  u8 mac[RBLK_MAC_LEN])
{
	struct rblk_auth_input in;

	rblk_auth_fill(&in, "rblk auth v2", uuid, from, to, from_nonce, to_nonce);
	return rblk_auth_hmac(s->key, s->len, &in, sizeof(in), mac);
}

bool rblk_auth_check(const u8 *mac, const u8 *expected)
{
	return !crypto_memneq(mac, expected, RBLK_MAC_LEN);
}

/* Sets @sock's TLS key of direction @dir (TLS_TX or TLS_RX) from @m. */
static int rblk_auth_tls_dir(struct socket *sock, int dir, const u8 *m)
{
	struct tls12_crypto_info_aes_gcm_128 ci = {
		.info.version = TLS_1_3_VERSION,
		.info.cipher_type = TLS_CIPHER_AES_GCM_128,
	};
	int err;

	/* Key, salt and IV from the direction's 32 bytes; records from 0. */
	memcpy(ci.key, m, sizeof(ci.key));
	memcpy(ci.salt, m + sizeof(ci.key), sizeof(ci.salt));
	memcpy(ci.iv, m + sizeof(ci.key) + sizeof(ci.salt), sizeof(ci.iv));
	err = sock->ops->setsockopt(sock, SOL_TLS, dir, KERNEL_SOCKPTR(&ci),
				    sizeof(ci));
	memzero_explicit(&ci, sizeof(ci));
	return err;
}

/* The 32 bytes of the key of direction @from -> @to, from @master. */
static int rblk_auth_dir_key(const u8 *master, u32 from, u32 to,
			     u8 out[RBLK_MAC_LEN])
{
	struct rblk_auth_dir d = {
		.from = cpu_to_be32(from),
		.to = cpu_to_be32(to),
	};

	BUILD_BUG_ON(sizeof(d) != 19);
	memcpy(d.label, "rblk tls v2", sizeof(d.label));
	return rblk_auth_hmac(master, RBLK_MAC_LEN, &d, sizeof(d), out);
}

int rblk_auth_tls(struct socket *sock, const struct rblk_secret *s,
		  const u8 *uuid, u32 me, u32 peer, bool dialer,
		  const u8 *my_nonce, const u8 *peer_nonce)
{
	u8 master[RBLK_MAC_LEN], tx[RBLK_MAC_LEN], rx[RBLK_MAC_LEN];
	struct rblk_auth_input in;
	int err;

	if (dialer)
		rblk_auth_fill(&in, "rblk keys v2", uuid, me, peer, my_nonce,
			       peer_nonce);
	else
		rblk_auth_fill(&in, "rblk keys v2", uuid, peer, me, peer_nonce,
			       my_nonce);
	err = rblk_auth_hmac(s->key, s->len, &in, sizeof(in), master) ?:
	      rblk_auth_dir_key(master, me, peer, tx) ?:
	      rblk_auth_dir_key(master, peer, me, rx);
	if (err)
		goto out;
	/* The TLS upper layer protocol (the tls module is loaded on demand). */
	err = sock->ops->setsockopt(sock, SOL_TCP, TCP_ULP, KERNEL_SOCKPTR("tls"),
				    sizeof("tls") - 1) ?:
	      rblk_auth_tls_dir(sock, TLS_TX, tx) ?:
	      rblk_auth_tls_dir(sock, TLS_RX, rx);
out:
	memzero_explicit(master, sizeof(master));
	memzero_explicit(tx, sizeof(tx));
	memzero_explicit(rx, sizeof(rx));
	return err;
}
