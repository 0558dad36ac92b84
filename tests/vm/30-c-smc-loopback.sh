# vms: 1
# timeout: 600
# append: kunit.filter_glob=smc_rs*
# The kernel's C smc over the dibs loopback device ("lo", SMC-Dv2 only),
# driven by smctest: user EIDs and PNET table over generic netlink, the
# stream integrity test over AF_SMC and AF_INET/IPPROTO_SMC, the statistics
# and smc_diag. On x86 the C smc has no system EID: SMC-Dv2 needs the same
# user EID on both ends, and without one every connection falls back to TCP.
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-LOOPBACK.TEST
port=7100

# reason FILE KIND CODE WANT: a `fback_srv|fback_clnt 0xCODE COUNT NAME` line.
reason() { v=$(awk -v k="$2" -v c="$3" '$1 == k && $2 == c { print $3 }' "$1"); echo "$2 $3 = $v, want $4"; [ "$v" = "$4" ]; }


check c-smc-load modprobe smc
smctest sysinfo

# User EIDs: add (the kernel pads and validates), list, refuse bad ones.
check ueid-add smctest ueid add "$EID"
check ueid-listed sh -c "smctest ueid list | grep -qx 'ueid $EID'"
check ueid-add-duplicate-refused sh -c "! smctest ueid add '$EID'"
check ueid-add-invalid-refused sh -c "! smctest ueid add 'BAD_EID'"
smctest ueid list

# SMC-Dv2 over the loopback device, both socket kinds, 1 and 50 connections.
smctest stats >/tmp/s0
lo_stream c-smc-v2-af-smc-1 smc 1 8M smcd
lo_stream c-smc-v2-inet-50 inet 50 1M smcd
smctest linkgroups
smctest devices # the C smc does not list the loopback device
smctest stats --since /tmp/s0 >/tmp/d0
sed 's/^/  delta: /' /tmp/d0
check smcd-v2-clnt-counted is /tmp/d0 smcd_clnt_v2_succ 51
check smcd-v2-srv-counted is /tmp/d0 smcd_srv_v2_succ 51
check smcd-no-clnt-fallback is /tmp/d0 fback_clnt_cnt 0
check smcd-no-srv-fallback is /tmp/d0 fback_srv_cnt 0
check smcd-no-clnt-hshake-err is /tmp/d0 clnt_hshake_err 0
check smcd-no-srv-hshake-err is /tmp/d0 srv_hshake_err 0
# 8 MiB + 50 MiB each way (plus the test's own headers), sent by both ends.
check smcd-tx-bytes atleast /tmp/d0 smcd_tx_bytes $((2 * 58 << 20))
check smcd-rx-bytes atleast /tmp/d0 smcd_rx_bytes $((2 * 58 << 20))

# PNET table. SMC-Dv2 offers an ISM device with a PNETID only if a net
# device has that PNETID from the hardware (not from the table), so a
# PNETID on "lo" (the dibs device) takes it out of SMC-Dv2. With the same
# PNETID on the net device lo the client even proposes the loopback
# device for SMC-Dv1, which the server declines (SMC_CLC_DECL_NOSMCD2DEV).
# Deleting the PNETID makes SMC-Dv2 work again.
check pnet-add-ism smctest pnet add NETLO --ib lo
check pnet-add-eth smctest pnet add NETLO lo
smctest pnet list
check pnet-listed-ism sh -c "smctest pnet list | grep -q '^pnet NETLO eth=n/a ib=lo port=1\$'"
check pnet-listed-eth sh -c "smctest pnet list | grep -q '^pnet NETLO eth=lo ib=n/a port=255\$'"
lo_stream c-smc-pnet-hides-ism smc 1 64K fallback
check pnet-del smctest pnet del NETLO
check pnet-empty sh -c "! smctest pnet list | grep -q ."
lo_stream c-smc-pnet-deleted smc 1 64K smcd

# Without the EID: the connections still work, over TCP, and the fallback
# statistics record why.
check ueid-del smctest ueid del "$EID"
check ueid-empty sh -c "! smctest ueid list | grep -q ."
smctest stats >/tmp/s1
lo_stream c-smc-no-ueid-fallback smc 2 1M fallback
smctest stats --since /tmp/s1 >/tmp/d1
sed 's/^/  delta: /' /tmp/d1
check fallback-no-smcd-clnt is /tmp/d1 smcd_clnt_v2_succ 0
check fallback-no-smcd-srv is /tmp/d1 smcd_srv_v2_succ 0
check fallback-clnt-counted is /tmp/d1 fback_clnt_cnt 2
check fallback-srv-counted is /tmp/d1 fback_srv_cnt 2
# The server declines (SMC_CLC_DECL_NOUEID: the proposal has no EID), the
# client falls back because the peer declined (SMC_CLC_DECL_PEERDECL).
check fallback-srv-reason-noueid reason /tmp/d1 fback_srv 0x03030008 2
check fallback-clnt-reason-peerdecl reason /tmp/d1 fback_clnt 0x05000000 2

check c-smc-unload modprobe -r smc_diag smc
exit $fails
