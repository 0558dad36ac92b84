/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A data-ready hook on a socket (rust/kernel/net/socket.rs, DataReadyHook),
 * shared by the C helpers (sock.c) and bindgen (bindings_helper.h).
 */
#ifndef RUST_HELPERS_NET_SOCK_HOOK_H
#define RUST_HELPERS_NET_SOCK_HOOK_H

struct sock;

/*
 * While hooked, the socket's sk_data_ready calls @orig (the callback it had
 * before) and then @func(hook). sk_user_data points to the hook. A hooked TCP
 * listener that limits SMC handshakes asks @congested(hook) whether a new
 * connection is to go without the SMC option.
 */
struct rust_sk_data_ready {
	void (*orig)(struct sock *sk);
	void (*func)(struct rust_sk_data_ready *hook);
	bool (*congested)(struct rust_sk_data_ready *hook);
};

#endif
