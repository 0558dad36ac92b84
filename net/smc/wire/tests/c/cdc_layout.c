// SPDX-License-Identifier: GPL-2.0
/*
 * Builds SMC-D CDC messages with the kernel's own declarations
 * (struct smc_cdc_producer_flags, smc_cdc_conn_state_flags and
 * smc_wr_rx_hdr from net/smc/smc.h; union smcd_cdc_cursor and
 * struct smcd_cdc_msg from net/smc/smc_cdc.h, copied verbatim below) and the
 * statements of smcd_cdc_msg_send() (net/smc/smc_cdc.c), compiled for this
 * host (__LITTLE_ENDIAN_BITFIELD on x86).
 *
 * Input on the command line, one message per argument:
 *   prod_wrap,prod_count,cons_wrap,cons_count,<flag names joined by +>
 * Prints one line of hex bytes per message. tests/cdc.rs runs this and
 * compares with the Rust encoder and decoder.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "this harness models the little-endian (x86) layout"
#endif
#define __LITTLE_ENDIAN_BITFIELD

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#define __packed __attribute__((packed))
#define __aligned(x) __attribute__((aligned(x)))
#define SMC_CDC_MSG_TYPE 0xFE

/* net/smc/smc.h */
struct smc_wr_rx_hdr {	/* common prefix part of LLC and CDC to demultiplex */
	union {
		u8 type;
#if defined(__BIG_ENDIAN_BITFIELD)
		struct {
			u8 llc_version:4,
			   llc_type:4;
		};
#elif defined(__LITTLE_ENDIAN_BITFIELD)
		struct {
			u8 llc_type:4,
			   llc_version:4;
		};
#endif
	};
} __aligned(1);

struct smc_cdc_conn_state_flags {
#if defined(__BIG_ENDIAN_BITFIELD)
	u8	peer_done_writing : 1;	/* Sending done indicator */
	u8	peer_conn_closed : 1;	/* Peer connection closed indicator */
	u8	peer_conn_abort : 1;	/* Abnormal close indicator */
	u8	reserved : 5;
#elif defined(__LITTLE_ENDIAN_BITFIELD)
	u8	reserved : 5;
	u8	peer_conn_abort : 1;
	u8	peer_conn_closed : 1;
	u8	peer_done_writing : 1;
#endif
};

struct smc_cdc_producer_flags {
#if defined(__BIG_ENDIAN_BITFIELD)
	u8	write_blocked : 1;	/* Writing Blocked, no rx buf space */
	u8	urg_data_pending : 1;	/* Urgent Data Pending */
	u8	urg_data_present : 1;	/* Urgent Data Present */
	u8	cons_curs_upd_req : 1;	/* cursor update requested */
	u8	failover_validation : 1;/* message replay due to failover */
	u8	reserved : 3;
#elif defined(__LITTLE_ENDIAN_BITFIELD)
	u8	reserved : 3;
	u8	failover_validation : 1;
	u8	cons_curs_upd_req : 1;
	u8	urg_data_present : 1;
	u8	urg_data_pending : 1;
	u8	write_blocked : 1;
#endif
};

/* net/smc/smc_cdc.h */
union smcd_cdc_cursor {
	struct {
		u16	wrap;
		u32	count;
		struct smc_cdc_producer_flags	prod_flags;
		struct smc_cdc_conn_state_flags	conn_state_flags;
	} __packed;
	u64			acurs;		/* for atomic processing */
} __aligned(8);

struct smcd_cdc_msg {
	struct smc_wr_rx_hdr common;	/* Type = 0xFE */
	u8 res1[7];
	union smcd_cdc_cursor	prod;
	union smcd_cdc_cursor	cons;
	u8 res3[8];
} __aligned(8);

static_assert(sizeof(struct smcd_cdc_msg) == 32, "smcd_cdc_msg size");
static_assert(offsetof(struct smcd_cdc_msg, prod) == 8, "prod offset");
static_assert(offsetof(struct smcd_cdc_msg, cons) == 16, "cons offset");

int main(int argc, char **argv)
{
	for (int a = 1; a < argc; a++) {
		unsigned pw, pc, cw, cc;
		char flags[256] = "";
		struct smc_cdc_producer_flags pf;
		struct smc_cdc_conn_state_flags sf;
		struct smcd_cdc_msg cdc;
		const u8 *b = (const u8 *)&cdc;

		if (sscanf(argv[a], "%u,%u,%u,%u,%255s", &pw, &pc, &cw, &cc, flags) < 4)
			return 2;
		memset(&pf, 0, sizeof(pf));
		memset(&sf, 0, sizeof(sf));
		pf.write_blocked = !!strstr(flags, "write_blocked");
		pf.urg_data_pending = !!strstr(flags, "urg_data_pending");
		pf.urg_data_present = !!strstr(flags, "urg_data_present");
		pf.cons_curs_upd_req = !!strstr(flags, "cons_curs_upd_req");
		sf.peer_done_writing = !!strstr(flags, "peer_done_writing");
		sf.peer_conn_closed = !!strstr(flags, "peer_conn_closed");
		sf.peer_conn_abort = !!strstr(flags, "peer_conn_abort");

		/* smcd_cdc_msg_send() */
		memset(&cdc, 0, sizeof(cdc));
		cdc.common.type = SMC_CDC_MSG_TYPE;
		cdc.prod.wrap = pw;
		cdc.prod.count = pc;
		cdc.cons.wrap = cw;
		cdc.cons.count = cc;
		cdc.cons.prod_flags = pf;
		cdc.cons.conn_state_flags = sf;

		for (size_t i = 0; i < sizeof(cdc); i++)
			printf("%02x", b[i]);
		printf("\n");
	}
	return 0;
}
