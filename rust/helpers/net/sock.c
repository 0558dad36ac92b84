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

#include <linux/net.h>
#include <linux/sockptr.h>
#include <linux/tcp.h>
#include <net/tcp.h>
#include <net/netns/generic.h>

#include "sock_hook.h"

#ifdef CONFIG_NET

__rust_helper struct net *rust_helper_sock_net(const struct sock *sk)
{
	return sock_net(sk);
}

__rust_helper int rust_helper_sk_read_err(const struct sock *sk)
{
	return READ_ONCE(sk->sk_err);
}

__rust_helper void rust_helper_sk_write_err(struct sock *sk, int err)
{
	WRITE_ONCE(sk->sk_err, err);
}

__rust_helper void rust_helper_sk_write_state(struct sock *sk, u8 state)
{
	WRITE_ONCE(sk->sk_state, state);
}

__rust_helper u8 rust_helper_sk_read_state(const struct sock *sk)
{
	return READ_ONCE(sk->sk_state);
}

__rust_helper u16 rust_helper_sk_read_protocol(const struct sock *sk)
{
	return sk->sk_protocol;
}

__rust_helper u16 rust_helper_sk_read_family(const struct sock *sk)
{
	return sk->sk_family;
}

__rust_helper u16 rust_helper_sk_read_type(const struct sock *sk)
{
	return sk->sk_type;
}

__rust_helper bool rust_helper_sk_read_kern(const struct sock *sk)
{
	return sk->sk_kern_sock;
}

__rust_helper struct socket *rust_helper_sk_read_socket(const struct sock *sk)
{
	return sk->sk_socket;
}

/*
 * The SOL_SOCKET settings an accepted socket takes over from the connection
 * it stands for (an SMC socket from its CLC socket, the ones net/smc/af_smc.c
 * copies): time-outs, mark, priority, low-water mark, bound device, pending
 * error, the buffer sizes set by SO_SNDBUF/SO_RCVBUF, and these flags (with
 * the linger time that goes with SO_LINGER).
 */
#define RUST_SOL_SOCKET_FLAGS                                        \
	((1UL << SOCK_URGINLINE) | (1UL << SOCK_KEEPOPEN) |          \
	 (1UL << SOCK_LINGER) | (1UL << SOCK_DBG))

__rust_helper void rust_helper_sk_copy_sol_socket(struct sock *nsk,
						  const struct sock *osk)
{
	u8 locks = READ_ONCE(osk->sk_userlocks);

	nsk->sk_userlocks = locks;
	if (locks & SOCK_SNDBUF_LOCK)
		WRITE_ONCE(nsk->sk_sndbuf, READ_ONCE(osk->sk_sndbuf));
	if (locks & SOCK_RCVBUF_LOCK)
		WRITE_ONCE(nsk->sk_rcvbuf, READ_ONCE(osk->sk_rcvbuf));
	nsk->sk_flags &= ~RUST_SOL_SOCKET_FLAGS;
	nsk->sk_flags |= READ_ONCE(osk->sk_flags) & RUST_SOL_SOCKET_FLAGS;
	WRITE_ONCE(nsk->sk_lingertime, READ_ONCE(osk->sk_lingertime));
	WRITE_ONCE(nsk->sk_sndtimeo, READ_ONCE(osk->sk_sndtimeo));
	WRITE_ONCE(nsk->sk_rcvtimeo, READ_ONCE(osk->sk_rcvtimeo));
	WRITE_ONCE(nsk->sk_mark, READ_ONCE(osk->sk_mark));
	WRITE_ONCE(nsk->sk_priority, READ_ONCE(osk->sk_priority));
	WRITE_ONCE(nsk->sk_rcvlowat, READ_ONCE(osk->sk_rcvlowat));
	WRITE_ONCE(nsk->sk_bound_dev_if, READ_ONCE(osk->sk_bound_dev_if));
	WRITE_ONCE(nsk->sk_err, READ_ONCE(osk->sk_err));
}

/* SOL_SOCKET options of this socket reach proto_ops::setsockopt. */
__rust_helper void rust_helper_socket_set_custom_sockopt(struct socket *sock)
{
	set_bit(SOCK_CUSTOM_SOCKOPT, &sock->flags);
}

__rust_helper void rust_helper_socket_set_connected(struct socket *sock)
{
	sock->state = SS_CONNECTED;
}

__rust_helper int rust_helper_copy_from_sockptr(void *dst, sockptr_t src,
						size_t size)
{
	return copy_from_sockptr(dst, src, size);
}

/* The SMC experimental TCP option (net/ipv4/tcp_output.c): TCP sockets only. */
__rust_helper void rust_helper_tcp_sk_set_syn_smc(struct sock *sk, bool on)
{
#if IS_ENABLED(CONFIG_SMC)
	if (sk_is_tcp(sk))
		tcp_sk(sk)->syn_smc = on;
#endif
}

__rust_helper bool rust_helper_tcp_sk_syn_smc(const struct sock *sk)
{
#if IS_ENABLED(CONFIG_SMC)
	return sk_is_tcp(sk) && tcp_sk(sk)->syn_smc;
#else
	return false;
#endif
}

/* TCP sends and answers the SMC option only while some user holds this key. */
__rust_helper void rust_helper_tcp_smc_option_get(void)
{
#if IS_ENABLED(CONFIG_SMC)
	static_branch_inc(&tcp_have_smc);
#endif
}

__rust_helper void rust_helper_tcp_smc_option_put(void)
{
#if IS_ENABLED(CONFIG_SMC)
	static_branch_dec(&tcp_have_smc);
#endif
}

/*
 * Kernel-buffer I/O on a kernel socket: the msghdr and kvec live here, so Rust
 * never lays out a struct msghdr itself.
 */
__rust_helper int rust_helper_kernel_send_bytes(struct socket *sock,
						const void *buf, size_t len,
						int flags)
{
	struct kvec vec = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_flags = flags };

	return kernel_sendmsg(sock, &msg, &vec, 1, len);
}

__rust_helper int rust_helper_kernel_recv_bytes(struct socket *sock, void *buf,
						size_t len, int flags)
{
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {};

	return kernel_recvmsg(sock, &msg, &vec, 1, len, flags);
}

/*
 * Waits, as a blocking call would (up to SO_SNDTIMEO, or not at all if
 * nonblock), while the connection is being set up (SYN_SENT, SYN_RECV). The
 * connection's error, if it failed, stays for SO_ERROR and the next call.
 */
__rust_helper int rust_helper_kernel_wait_connected(struct socket *sock,
						    bool nonblock)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct sock *sk = sock->sk;
	long timeo = sock_sndtimeo(sk, nonblock);
	int err = 0;

	lock_sock(sk);
	add_wait_queue(sk_sleep(sk), &wait);
	while ((1 << sk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV)) {
		if (!timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(timeo);
			break;
		}
		sk_wait_event(sk, &timeo,
			      !((1 << READ_ONCE(sk->sk_state)) &
				(TCPF_SYN_SENT | TCPF_SYN_RECV)), &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	release_sock(sk);
	return err;
}

/* Wakes everyone waiting on the socket (as sock_def_wakeup() does). */
__rust_helper void rust_helper_sk_wake_all(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_all(&wq->wait);
	rcu_read_unlock();
}

__rust_helper unsigned int rust_helper_msghdr_flags(const struct msghdr *msg)
{
	return msg->msg_flags;
}

__rust_helper long rust_helper_sk_read_rcvtimeo(const struct sock *sk)
{
	return READ_ONCE(sk->sk_rcvtimeo);
}

__rust_helper void *rust_helper_net_generic(const struct net *net,
					    unsigned int id)
{
	return net_generic(net, id);
}

/* Sets sk_rcvtimeo (jiffies), returns the old value: as SO_RCVTIMEO would. */
__rust_helper long rust_helper_sk_swap_rcvtimeo(struct sock *sk, long timeo)
{
	long old = READ_ONCE(sk->sk_rcvtimeo);

	WRITE_ONCE(sk->sk_rcvtimeo, timeo);
	return old;
}

/*
 * Data-ready hooks (struct rust_sk_data_ready, sock_hook.h).
 *
 * The hook is sk_user_data, with SK_USER_DATA_NOCOPY: the sockets a hooked
 * listener clones for its new connections do not inherit it (they inherit
 * the dispatcher as their callback, which does nothing without a hook, until
 * sk_data_ready_inherit() gives them their own back at accept time).
 * sk_callback_lock orders the hook's users: the dispatcher runs it with the
 * lock held for reading, sk_data_ready_unhook() takes the lock for writing,
 * so once that returns no call of the hook runs or will run, and its memory
 * may go at once.
 *
 * The dispatcher is neither static nor inline: its address is one function
 * in vmlinux, which helpers inlined elsewhere compare against, and which
 * sockets may keep after the module that hooked them is gone.
 */
void rust_sk_data_ready_dispatch(struct sock *sk)
{
	struct rust_sk_data_ready *hook;

	read_lock_bh(&sk->sk_callback_lock);
	rcu_read_lock();
	hook = __rcu_dereference_sk_user_data_with_flags(sk, SK_USER_DATA_NOCOPY);
	rcu_read_unlock();
	if (hook) {
		hook->orig(sk);
		hook->func(hook);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

/*
 * tcp_sock::smc_hs_congested of a listener that limits SMC handshakes: asks
 * the socket's hook, under the callback lock as the dispatcher does (so the
 * hook cannot go meanwhile). Without a hook SMC is not used (C's
 * smc_hs_congested() says the same without its SMC socket). Like the
 * dispatcher, a function of vmlinux that sockets may keep after the module
 * that set it is gone.
 */
bool rust_sk_hs_congested(const struct sock *csk)
{
	struct sock *sk = (struct sock *)csk;
	struct rust_sk_data_ready *hook;
	bool ret = true;

	read_lock_bh(&sk->sk_callback_lock);
	rcu_read_lock();
	hook = __rcu_dereference_sk_user_data_with_flags(sk, SK_USER_DATA_NOCOPY);
	rcu_read_unlock();
	if (hook)
		ret = hook->congested && hook->congested(hook);
	read_unlock_bh(&sk->sk_callback_lock);
	return ret;
}

/* Makes TCP listener @sk ask its hook before it offers SMC to a new connection. */
__rust_helper void rust_helper_tcp_sk_limit_smc_hs(struct sock *sk, bool on)
{
#if IS_ENABLED(CONFIG_SMC)
	tcp_sk(sk)->smc_hs_congested = on ? rust_sk_hs_congested : NULL;
#endif
}

/* Returns 0, or -EBUSY if the socket has user data (another user's) already. */
__rust_helper int rust_helper_sk_data_ready_hook(struct sock *sk,
						 struct rust_sk_data_ready *hook)
{
	int ret = 0;

	write_lock_bh(&sk->sk_callback_lock);
	if (rcu_access_pointer(sk->sk_user_data)) {
		ret = -EBUSY;
	} else {
		hook->orig = sk->sk_data_ready;
		__rcu_assign_sk_user_data_with_flags(sk, hook, SK_USER_DATA_NOCOPY);
		WRITE_ONCE(sk->sk_data_ready, rust_sk_data_ready_dispatch);
	}
	write_unlock_bh(&sk->sk_callback_lock);
	return ret;
}

__rust_helper void rust_helper_sk_data_ready_unhook(struct sock *sk,
						    struct rust_sk_data_ready *hook)
{
	write_lock_bh(&sk->sk_callback_lock);
	WRITE_ONCE(sk->sk_data_ready, hook->orig);
	rcu_assign_sk_user_data(sk, NULL);
	write_unlock_bh(&sk->sk_callback_lock);
}

/*
 * @child was just accepted from @listener: if it inherited the hook's
 * callback, gives it the listener's own (the one the hook calls, or the
 * listener's callback if it was unhooked since).
 */
__rust_helper void rust_helper_sk_data_ready_inherit(struct sock *listener,
						     struct sock *child)
{
	struct rust_sk_data_ready *hook;

	if (READ_ONCE(child->sk_data_ready) != rust_sk_data_ready_dispatch)
		return;
	read_lock_bh(&listener->sk_callback_lock);
	rcu_read_lock();
	hook = __rcu_dereference_sk_user_data_with_flags(listener, SK_USER_DATA_NOCOPY);
	rcu_read_unlock();
	WRITE_ONCE(child->sk_data_ready, hook ? hook->orig : listener->sk_data_ready);
	read_unlock_bh(&listener->sk_callback_lock);
}

#endif

__rust_helper size_t rust_helper_msghdr_copy_from(struct msghdr *msg, void *buf, size_t len)
{
	return copy_from_iter(buf, len, &msg->msg_iter);
}

__rust_helper size_t rust_helper_msghdr_copy_to(struct msghdr *msg, const void *buf,
						 size_t len)
{
	return copy_to_iter(buf, len, &msg->msg_iter);
}

__rust_helper size_t rust_helper_msghdr_data_left(const struct msghdr *msg)
{
	return msg_data_left(msg);
}

__rust_helper long rust_helper_sk_timeo(const struct sock *sk, bool send, bool noblock)
{
	return send ? sock_sndtimeo(sk, noblock) : sock_rcvtimeo(sk, noblock);
}

__rust_helper int rust_helper_sk_read_bufsize(const struct sock *sk, bool send)
{
	return send ? READ_ONCE(sk->sk_sndbuf) : READ_ONCE(sk->sk_rcvbuf);
}

__rust_helper bool rust_helper_sk_bufsize_locked(const struct sock *sk, bool send)
{
	return READ_ONCE(sk->sk_userlocks) & (send ? SOCK_SNDBUF_LOCK : SOCK_RCVBUF_LOCK);
}
