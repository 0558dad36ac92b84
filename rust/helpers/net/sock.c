// SPDX-License-Identifier: GPL-2.0

#include <net/sock.h>

#ifdef CONFIG_NET

__rust_helper void rust_helper_sock_hold(struct sock *sk)
{
	sock_hold(sk);
}

__rust_helper void rust_helper_sock_put(struct sock *sk)
{
	sock_put(sk);
}

__rust_helper void rust_helper_sock_orphan(struct sock *sk)
{
	sock_orphan(sk);
}

/*
 * Fields of struct sock are set from C: bindgen's layout of struct sock is not
 * trusted (see rust/kernel/net/family.rs).
 */
__rust_helper void rust_helper_sk_set_destruct(struct sock *sk,
					       void (*destruct)(struct sock *sk))
{
	sk->sk_destruct = destruct;
}

__rust_helper void rust_helper_sk_set_protocol(struct sock *sk, u16 protocol)
{
	sk->sk_protocol = protocol;
}

#endif
