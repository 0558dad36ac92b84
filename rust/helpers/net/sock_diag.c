// SPDX-License-Identifier: GPL-2.0

/*
 * Helpers for rust/kernel/net/sock_diag.rs and the socket tables of
 * rust/kernel/net/family.rs: what the C headers only have as inline functions
 * and macros (netlink dumps, hashing a socket on a list, reading the fields of
 * struct sock that sock_diag reports).
 */

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <net/ipv6.h>
#include <net/netlink.h>
#include <net/sock.h>

#ifdef CONFIG_NET

/* The socket tables: a family's sockets on an hlist, as the C smc keeps them. */

__rust_helper void rust_helper_sk_add_node(struct sock *sk, struct hlist_head *list)
{
	sk_add_node(sk, list);
}

__rust_helper bool rust_helper_sk_del_node_init(struct sock *sk)
{
	return sk_del_node_init(sk);
}

__rust_helper struct sock *rust_helper_sk_head(const struct hlist_head *head)
{
	return sk_head(head);
}

__rust_helper struct sock *rust_helper_sk_next(const struct sock *sk)
{
	return sk_next(sk);
}

__rust_helper void rust_helper_sk_node_init(struct sock *sk)
{
	sk_node_init(&sk->sk_node);
}

/* What a diagnostics dump reports of a socket. */

__rust_helper u8 rust_helper_sk_read_shutdown(const struct sock *sk)
{
	return READ_ONCE(sk->sk_shutdown);
}

__rust_helper u64 rust_helper_sk_read_ino(const struct sock *sk)
{
	return sock_i_ino(sk);
}

/* The socket's owner as the requester of dump @cb sees it. */
__rust_helper u32 rust_helper_sk_diag_uid(const struct sock *sk,
					  const struct netlink_callback *cb)
{
	return from_kuid_munged(sk_user_ns(NETLINK_CB(cb->skb).sk), sk_uid(sk));
}

/*
 * The ports, bound device and addresses of IP socket @sk, as struct
 * inet_diag_sockid has them (ports in network byte order); the addresses only
 * with @addrs. The cookie is not filled.
 */
__rust_helper void rust_helper_sk_diag_sockid(const struct sock *sk,
					      struct inet_diag_sockid *id, bool addrs)
{
	id->idiag_sport = htons(sk->sk_num);
	id->idiag_dport = sk->sk_dport;
	id->idiag_if = sk->sk_bound_dev_if;
	if (!addrs)
		return;
	if (sk->sk_family == AF_INET) {
		id->idiag_src[0] = sk->sk_rcv_saddr;
		id->idiag_dst[0] = sk->sk_daddr;
#if IS_ENABLED(CONFIG_IPV6)
	} else if (sk->sk_family == AF_INET6) {
		memcpy(&id->idiag_src, &sk->sk_v6_rcv_saddr, sizeof(sk->sk_v6_rcv_saddr));
		memcpy(&id->idiag_dst, &sk->sk_v6_daddr, sizeof(sk->sk_v6_daddr));
#endif
	}
}

/* Netlink dumps of sock_diag handlers. */

/*
 * Starts the dump of request @nlh on the namespace's diag socket, as a
 * sock_diag handler's dump does; @module owns @dump.
 */
__rust_helper int rust_helper_sock_diag_dump_start(struct sk_buff *skb,
						   const struct nlmsghdr *nlh,
						   int (*dump)(struct sk_buff *,
							       struct netlink_callback *),
						   struct module *module, u32 min_alloc)
{
	struct netlink_dump_control c = {
		.dump = dump,
		.module = module,
		.min_dump_alloc = min_alloc ? SKB_WITH_OVERHEAD(min_alloc) : 0,
	};

	return __netlink_dump_start(sock_net(skb->sk)->diag_nlsk, skb, nlh, &c);
}

__rust_helper struct net *rust_helper_skb_sock_net(const struct sk_buff *skb)
{
	return sock_net(skb->sk);
}

__rust_helper u16 rust_helper_nlcb_type(const struct netlink_callback *cb)
{
	return cb->nlh->nlmsg_type;
}

__rust_helper const void *rust_helper_nlcb_data(const struct netlink_callback *cb)
{
	return nlmsg_data(cb->nlh);
}

__rust_helper int rust_helper_nlcb_len(const struct netlink_callback *cb)
{
	return nlmsg_len(cb->nlh);
}

/* Puts a message of the dump's type with a @len-byte header into @skb. */
__rust_helper struct nlmsghdr *rust_helper_nlcb_msg_put(struct sk_buff *skb,
							 const struct netlink_callback *cb,
							 int len, int flags)
{
	return nlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			 cb->nlh->nlmsg_type, len, flags);
}

__rust_helper void *rust_helper_nlmsg_data(const struct nlmsghdr *nlh)
{
	return nlmsg_data(nlh);
}

__rust_helper void rust_helper_nlmsg_end(struct sk_buff *skb, struct nlmsghdr *nlh)
{
	nlmsg_end(skb, nlh);
}

__rust_helper void rust_helper_nlmsg_cancel(struct sk_buff *skb, struct nlmsghdr *nlh)
{
	nlmsg_cancel(skb, nlh);
}

#endif
