// SPDX-License-Identifier: GPL-2.0
/*
 * Builds the test vectors of tests/common/mod.rs with the kernel's own CLC
 * struct declarations (smc_clc_structs.h, verbatim from net/smc/smc_clc.h)
 * and the statements of the C senders in net/smc/smc_clc.c
 * (smc_clc_send_proposal(), smcd/smcr_clc_prep_confirm_accept(),
 * smc_clc_fill_fce_v2x(), smc_clc_send_confirm_accept(),
 * smc_clc_send_decline()), compiled for this host: on x86 that is
 * __LITTLE_ENDIAN_BITFIELD, the layout Linux puts on the wire there.
 *
 * Prints one line per message: "<name> <hex bytes>". tests/c_layout.rs
 * compiles and runs this and compares with the Rust encoder.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "this harness models the little-endian (x86) wire layout"
#endif
#define __LITTLE_ENDIAN_BITFIELD

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef uint16_t __be16;
typedef uint32_t __be32;
typedef uint64_t __be64;

#define __packed __attribute__((packed))
#define __aligned(x) __attribute__((aligned(x)))
#define struct_group_tagged(TAG, NAME, MEMBERS...) \
	union { struct { MEMBERS }; struct TAG { MEMBERS } NAME; }
#define offsetofend(TYPE, MEMBER) \
	(offsetof(TYPE, MEMBER) + sizeof(((TYPE *)0)->MEMBER))
#define htonll(x) __builtin_bswap64(x)
#define cpu_to_be64(x) __builtin_bswap64(x)

#define SMC_SYSTEMID_LEN 8
#define SMC_GID_SIZE 16
#define SMC_MAX_EID_LEN 32
#define SMC_MAX_HOSTNAME_LEN 32

#define SMC_V1 1
#define SMC_V2 2
#define SMC_RELEASE_0 0
#define SMC_RELEASE_1 1
#define SMC_RELEASE SMC_RELEASE_1
#define SMC_FEATURE_MASK (1 << 0)

#define SMC_CLC_PROPOSAL 0x01
#define SMC_CLC_ACCEPT 0x02
#define SMC_CLC_CONFIRM 0x03
#define SMC_CLC_DECLINE 0x04
#define SMC_TYPE_R 0
#define SMC_TYPE_D 1
#define SMC_TYPE_N 2
#define SMC_TYPE_B 3
#define SMC_CLC_DECL_NOSMCDDEV 0x03030001
#define SMC_CLC_DECL_SYNCERR 0x04000000
#define SMC_FIRST_CONTACT_MASK 0b10

#include "smc_clc_structs.h"

#define SMCR_CLC_ACCEPT_CONFIRM_LEN 68
#define SMCD_CLC_ACCEPT_CONFIRM_LEN 48
#define SMCD_CLC_ACCEPT_CONFIRM_LEN_V2 78
#define SMCR_CLC_ACCEPT_CONFIRM_LEN_V2 108

static_assert(sizeof(struct smc_clc_msg_hdr) == 8, "hdr");
static_assert(sizeof(struct smc_clc_msg_proposal) == 40, "proposal");
static_assert(sizeof(struct smc_clc_msg_smcd) == 40, "smcd");
static_assert(sizeof(struct smc_clc_msg_proposal_prefix) == 8, "prefix");
static_assert(sizeof(struct smc_clc_ipv6_prefix) == 17, "ipv6");
static_assert(sizeof(struct smc_clc_v2_extension) == 40, "v2 ext");
static_assert(sizeof(struct smc_clc_smcd_v2_extension) == 48, "smcd v2 ext");
static_assert(sizeof(struct smc_clc_smcd_gid_chid) == 10, "gidchid");
static_assert(sizeof(struct smc_clc_msg_proposal_area) == 652, "area");
static_assert(offsetof(struct smc_clc_msg_proposal_area, pclc_v2_ext) == 224, "v2 at");
static_assert(offsetof(struct smc_clc_msg_proposal_area, pclc_smcd_v2_ext) == 520, "smcd v2 at");
static_assert(sizeof(struct smc_clc_msg_accept_confirm) == 104, "acc");
static_assert(offsetofend(struct smc_clc_msg_accept_confirm, d1) == 74, "d1");
static_assert(offsetofend(struct smc_clc_msg_accept_confirm, r1) == 104, "r1");
static_assert(sizeof(struct smc_clc_first_contact_ext) == 36, "fce");
static_assert(sizeof(struct smc_clc_first_contact_ext_v2x) == 52, "fce v2x");
static_assert(sizeof(struct smc_clc_msg_decline) == 28, "decl");
static_assert(sizeof(struct smc_clc_msg_decline_v2) == 44, "decl v2");

static const char SMC_EYECATCHER[4] = {'\xe2', '\xd4', '\xc3', '\xd9'};
static const char SMCD_EYECATCHER[4] = {'\xe2', '\xd4', '\xc3', '\xc4'};

static u8 out[1024];
static size_t out_len;

static void put(const void *p, size_t n)
{
	memcpy(out + out_len, p, n);
	out_len += n;
}

static void emit(const char *name)
{
	printf("%s ", name);
	for (size_t i = 0; i < out_len; i++)
		printf("%02x", out[i]);
	printf("\n");
	out_len = 0;
}

static void pad(u8 *dst, const char *s)
{
	memset(dst, ' ', 32);
	memcpy(dst, s, strlen(s));
}

static void hton24(u8 *net, u32 host)
{
	net[0] = (host >> 16) & 0xff;
	net[1] = (host >> 8) & 0xff;
	net[2] = host & 0xff;
}

/* A v1-only sender: SMC-D, IPv4. */
static void proposal_v1_smcd(void)
{
	struct smc_clc_msg_proposal_area a;
	struct smc_clc_msg_proposal *pclc_base = &a.pclc_base;
	struct smc_clc_msg_smcd *pclc_smcd = &a.pclc_smcd;
	struct smc_clc_msg_proposal_prefix *pclc_prfx = &a.pclc_prfx;
	struct smc_clc_msg_trail *trl = &a.pclc_trl;
	int plen;

	memset(&a, 0, sizeof(a));
	pclc_base->hdr.version = SMC_V1;
	pclc_base->hdr.typev1 = SMC_TYPE_D;
	pclc_prfx->prefix_len = 24;
	pclc_prfx->outgoing_subnet = htonl(0xC0A80100);
	pclc_base->iparea_offset = htons(sizeof(*pclc_smcd));
	memcpy(pclc_base->hdr.eyecatcher, SMC_EYECATCHER, 4);
	pclc_base->hdr.type = SMC_CLC_PROPOSAL;
	pclc_smcd->ism.gid = htonll(0x1122334455667788ULL);
	plen = sizeof(*pclc_base) + sizeof(*pclc_smcd) + sizeof(*pclc_prfx) + sizeof(*trl);
	pclc_base->hdr.length = htons(plen);
	memcpy(trl->eyecatcher, SMC_EYECATCHER, 4);
	put(pclc_base, sizeof(*pclc_base));
	put(pclc_smcd, sizeof(*pclc_smcd));
	put(pclc_prfx, sizeof(*pclc_prfx));
	put(trl, sizeof(*trl));
	emit("proposal_v1_smcd");
}

/* smc_clc_send_proposal(): SMC-D v1 + v2, IPv6, one UEID, one more ISM. */
static void proposal_v2_smcd(void)
{
	struct smc_clc_msg_proposal_area a;
	struct smc_clc_msg_proposal *pclc_base = &a.pclc_base;
	struct smc_clc_msg_smcd *pclc_smcd = &a.pclc_smcd;
	struct smc_clc_msg_proposal_prefix *pclc_prfx = &a.pclc_prfx;
	struct smc_clc_ipv6_prefix *ipv6_prfx = a.pclc_prfx_ipv6;
	struct smc_clc_v2_extension *v2_ext = (struct smc_clc_v2_extension *)&a.pclc_v2_ext;
	struct smc_clc_smcd_v2_extension *smcd_v2_ext =
		(struct smc_clc_smcd_v2_extension *)&a.pclc_smcd_v2_ext;
	struct smc_clc_smcd_gid_chid *gidchids = a.pclc_gidchids;
	struct smc_clc_msg_trail *trl = &a.pclc_trl;
	static const u8 p6[16] = {0x20, 0x01, 0x0d, 0xb8};
	int plen;
	u16 v2_ext_offset;

	memset(&a, 0, sizeof(a));
	pclc_base->hdr.version = SMC_V2;
	pclc_base->hdr.typev1 = SMC_TYPE_D;
	pclc_base->hdr.typev2 = SMC_TYPE_D;
	plen = sizeof(*pclc_base) + sizeof(*pclc_smcd) + sizeof(*trl);
	/* smc_clc_prfx_set6_rcu() */
	memcpy(&ipv6_prfx[0].prefix, p6, 16);
	ipv6_prfx[0].prefix_len = 64;
	pclc_prfx->ipv6_prefixes_cnt = 1;
	pclc_base->iparea_offset = htons(sizeof(*pclc_smcd));
	plen += sizeof(*pclc_prfx) + pclc_prfx->ipv6_prefixes_cnt * sizeof(ipv6_prfx[0]);
	memcpy(pclc_base->hdr.eyecatcher, SMC_EYECATCHER, 4);
	pclc_base->hdr.type = SMC_CLC_PROPOSAL;
	pclc_smcd->ism.gid = htonll(0x0102030405060708ULL);
	pclc_smcd->ism.chid = htons(0x0123);
	v2_ext->hdr.flag.release = SMC_RELEASE;
	v2_ext_offset = sizeof(*pclc_smcd) - offsetofend(struct smc_clc_msg_smcd, v2_ext_offset);
	v2_ext_offset += sizeof(*pclc_prfx) + pclc_prfx->ipv6_prefixes_cnt * sizeof(ipv6_prfx[0]);
	pclc_smcd->v2_ext_offset = htons(v2_ext_offset);
	plen += sizeof(*v2_ext);
	v2_ext->feature_mask = htons(SMC_FEATURE_MASK);
	v2_ext->hdr.eid_cnt = 1;
	plen += 1 * SMC_MAX_EID_LEN;
	pad(a.user_eids[0], "SMC-TEST-EID");
	v2_ext->hdr.flag.seid = 1;
	v2_ext->hdr.smcd_v2_ext_offset = htons(sizeof(*v2_ext) -
		offsetofend(struct smc_clnt_opts_area_hdr, smcd_v2_ext_offset) +
		v2_ext->hdr.eid_cnt * SMC_MAX_EID_LEN);
	memcpy(smcd_v2_ext->system_eid, "IBM-SYSZ-ISMSEID0000000012345678", 32);
	plen += sizeof(*smcd_v2_ext);
	gidchids[0].chid = htons(0x0456);
	gidchids[0].gid = htonll(0x1122334455667788ULL);
	plen += 1 * sizeof(struct smc_clc_smcd_gid_chid);
	v2_ext->hdr.ism_gid_cnt = 1;
	pclc_base->hdr.length = htons(plen);
	memcpy(trl->eyecatcher, SMC_EYECATCHER, 4);

	put(pclc_base, sizeof(*pclc_base));
	put(pclc_smcd, sizeof(*pclc_smcd));
	put(pclc_prfx, sizeof(*pclc_prfx));
	put(ipv6_prfx, pclc_prfx->ipv6_prefixes_cnt * sizeof(ipv6_prfx[0]));
	put(v2_ext, sizeof(*v2_ext) + v2_ext->hdr.eid_cnt * SMC_MAX_EID_LEN);
	put(smcd_v2_ext, sizeof(*smcd_v2_ext));
	put(gidchids, v2_ext->hdr.ism_gid_cnt * sizeof(struct smc_clc_smcd_gid_chid));
	put(trl, sizeof(*trl));
	emit("proposal_v2_smcd");
}

/* smc_clc_fill_fce_v2x() */
static int fill_fce_v2x(struct smc_clc_first_contact_ext_v2x *fce_v2x, int is_smcd,
			u8 release_nr, const char *host)
{
	int ret = sizeof(*fce_v2x);

	memset(fce_v2x, 0, sizeof(*fce_v2x));
	fce_v2x->fce_v2_base.os_type = 2; /* SMC_CLC_OS_LINUX */
	fce_v2x->fce_v2_base.release = release_nr;
	pad(fce_v2x->fce_v2_base.hostname, host);
	if (is_smcd && release_nr < SMC_RELEASE_1)
		return sizeof(struct smc_clc_first_contact_ext);
	if (release_nr >= SMC_RELEASE_1)
		fce_v2x->feature_mask = htons(SMC_FEATURE_MASK);
	return ret;
}

/* smc_clc_send_confirm_accept() + smcd_clc_prep_confirm_accept() */
static void smcd_acc_conf(const char *name, u8 type, u8 version, int first_contact,
			  u64 gid, u64 token, u8 dmbe_size, const u8 *lgr_id, u16 chid,
			  u64 gid_ext, u8 release_nr, const char *host)
{
	struct smc_clc_msg_accept_confirm clc;
	struct smc_clc_first_contact_ext_v2x fce_v2x;
	struct smc_clc_msg_trail trl;
	int fce_len = 0, len;

	memset(&clc, 0, sizeof(clc));
	clc.hdr.type = type;
	clc.hdr.version = version;
	if (first_contact)
		clc.hdr.typev2 |= SMC_FIRST_CONTACT_MASK;
	memcpy(clc.hdr.eyecatcher, SMCD_EYECATCHER, 4);
	clc.hdr.typev1 = SMC_TYPE_D;
	clc.d0.gid = htonll(gid);
	clc.d0.token = htonll(token);
	clc.d0.dmbe_size = dmbe_size;
	clc.d0.dmbe_idx = 0;
	memcpy(&clc.d0.linkid, lgr_id, 4);
	if (version == SMC_V1) {
		clc.hdr.length = htons(SMCD_CLC_ACCEPT_CONFIRM_LEN);
	} else {
		clc.d1.chid = htons(chid);
		pad(clc.d1.eid, "SMC-TEST-EID");
		if ((chid & 0xFF00) == 0xFF00)
			clc.d1.gid_ext = htonll(gid_ext);
		len = SMCD_CLC_ACCEPT_CONFIRM_LEN_V2;
		if (first_contact) {
			fce_len = fill_fce_v2x(&fce_v2x, 1, release_nr, host);
			len += fce_len;
		}
		clc.hdr.length = htons(len);
	}
	memcpy(trl.eyecatcher, SMCD_EYECATCHER, 4);
	put(&clc, (version > SMC_V1 ? SMCD_CLC_ACCEPT_CONFIRM_LEN_V2 :
		   SMCD_CLC_ACCEPT_CONFIRM_LEN) - sizeof(trl));
	if (version > SMC_V1 && first_contact)
		put(&fce_v2x, fce_len);
	put(&trl, sizeof(trl));
	emit(name);
}

/* smcr_clc_prep_confirm_accept(), v1 */
static void accept_v1_smcr(void)
{
	struct smc_clc_msg_accept_confirm clc;
	struct smc_clc_msg_trail trl;
	static const u8 sysid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const u8 gid[16] = {0xfe, 0x80, [15] = 0x01};
	static const u8 mac[6] = {0x02, 0, 0, 0, 0, 0x01};

	memset(&clc, 0, sizeof(clc));
	clc.hdr.type = SMC_CLC_ACCEPT;
	clc.hdr.version = SMC_V1;
	clc.hdr.typev2 |= SMC_FIRST_CONTACT_MASK;
	memcpy(clc.hdr.eyecatcher, SMC_EYECATCHER, 4);
	clc.hdr.typev1 = SMC_TYPE_R;
	memcpy(clc.r0.lcl.id_for_peer, sysid, 8);
	memcpy(&clc.r0.lcl.gid, gid, 16);
	memcpy(&clc.r0.lcl.mac, mac, 6);
	hton24(clc.r0.qpn, 0x123);
	clc.r0.rmb_rkey = htonl(0x4567);
	clc.r0.rmbe_idx = 1;
	clc.r0.rmbe_alert_token = htonl(9);
	clc.r0.qp_mtu = 3;
	clc.r0.rmbe_size = 2;
	clc.r0.rmb_dma_addr = cpu_to_be64(0x7f0012345000ULL);
	hton24(clc.r0.psn, 0x77);
	clc.hdr.length = htons(SMCR_CLC_ACCEPT_CONFIRM_LEN);
	memcpy(trl.eyecatcher, SMC_EYECATCHER, 4);
	put(&clc, SMCR_CLC_ACCEPT_CONFIRM_LEN - sizeof(trl));
	put(&trl, sizeof(trl));
	emit("accept_v1_smcr");
}

/* smc_clc_send_decline() */
static void decline(const char *name, u32 peer_diag_info, u8 version, const u8 *sysid)
{
	struct smc_clc_msg_decline *dclc_v1;
	struct smc_clc_msg_decline_v2 dclc;
	int send_len;

	dclc_v1 = (struct smc_clc_msg_decline *)&dclc;
	memset(&dclc, 0, sizeof(dclc));
	memcpy(dclc.hdr.eyecatcher, SMC_EYECATCHER, 4);
	dclc.hdr.type = SMC_CLC_DECLINE;
	dclc.hdr.version = version;
	dclc.os_type = version == SMC_V1 ? 0 : 2;
	dclc.hdr.typev2 = (peer_diag_info == SMC_CLC_DECL_SYNCERR) ?
						SMC_FIRST_CONTACT_MASK : 0;
	if (sysid)
		memcpy(dclc.id_for_peer, sysid, 8);
	dclc.peer_diagnosis = htonl(peer_diag_info);
	if (version == SMC_V1) {
		memcpy(dclc_v1->trl.eyecatcher, SMC_EYECATCHER, 4);
		send_len = sizeof(*dclc_v1);
	} else {
		memcpy(dclc.trl.eyecatcher, SMC_EYECATCHER, 4);
		send_len = sizeof(dclc);
	}
	dclc.hdr.length = htons(send_len);
	put(&dclc, send_len);
	emit(name);
}

int main(void)
{
	static const u8 lgr5[4] = {0, 0, 5, 0};
	static const u8 lgr6[4] = {0, 0, 6, 0};
	static const u8 lgr1234[4] = {1, 2, 3, 4};
	static const u8 sysid[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	proposal_v1_smcd();
	proposal_v2_smcd();
	smcd_acc_conf("accept_v1_smcd", SMC_CLC_ACCEPT, SMC_V1, 1, 0x0a0b0c0d0e0f1011ULL,
		      0x1000200030004000ULL, 2, lgr5, 0, 0, 0, NULL);
	smcd_acc_conf("accept_v2_smcd_fc", SMC_CLC_ACCEPT, SMC_V2, 1, 0x0a0b0c0d0e0f1011ULL,
		      0x1000200030004001ULL, 1, lgr6, 0x0456, 0, 1, "vm1");
	smcd_acc_conf("confirm_v2_smcd_fc_rel0", SMC_CLC_CONFIRM, SMC_V2, 1, 0x1234, 0x5678, 6,
		      lgr1234, 0xffff, 0x9abc, 0, "client");
	smcd_acc_conf("confirm_v2_smcd", SMC_CLC_CONFIRM, SMC_V2, 0, 0x1234, 0x5679, 0,
		      lgr1234, 0x0123, 0, 0, NULL);
	accept_v1_smcr();
	decline("decline_v1", SMC_CLC_DECL_NOSMCDDEV, SMC_V1, sysid);
	decline("decline_v2", SMC_CLC_DECL_SYNCERR, SMC_V2, NULL);
	return 0;
}
