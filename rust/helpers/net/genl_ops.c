// SPDX-License-Identifier: GPL-2.0

/*
 * Helpers for rust/kernel/net/genl.rs: generic netlink operations (dumps and
 * nested attributes), for what the C headers only have as inline functions
 * and macros.
 */

#include <net/genetlink.h>

#ifdef CONFIG_NET

__rust_helper u32 rust_helper_genl_cb_portid(struct netlink_callback *cb)
{
	return NETLINK_CB(cb->skb).portid;
}

__rust_helper u32 rust_helper_genl_cb_seq(struct netlink_callback *cb)
{
	return cb->nlh->nlmsg_seq;
}

__rust_helper const struct genl_family *
rust_helper_genl_cb_family(struct netlink_callback *cb)
{
	return genl_info_dump(cb)->family;
}

__rust_helper u8 rust_helper_genl_cb_cmd(struct netlink_callback *cb)
{
	return genl_info_dump(cb)->genlhdr->cmd;
}

__rust_helper struct net *rust_helper_genl_info_net(const struct genl_info *info)
{
	return genl_info_net(info);
}

__rust_helper struct nlattr *rust_helper_nla_nest_start(struct sk_buff *skb, int attrtype)
{
	return nla_nest_start(skb, attrtype);
}

__rust_helper int rust_helper_nla_nest_end(struct sk_buff *skb, struct nlattr *start)
{
	return nla_nest_end(skb, start);
}

__rust_helper void rust_helper_nla_nest_cancel(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_cancel(skb, start);
}

__rust_helper struct nlmsghdr *rust_helper_nlmsg_put(struct sk_buff *skb, u32 portid,
						     u32 seq, int type, int payload,
						     int flags)
{
	return nlmsg_put(skb, portid, seq, type, payload, flags);
}

__rust_helper int rust_helper_genlmsg_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

__rust_helper int rust_helper_nla_put_u64_64bit(struct sk_buff *skb, int attrtype,
					      u64 value, int padattr)
{
	return nla_put_u64_64bit(skb, attrtype, value, padattr);
}

#endif
