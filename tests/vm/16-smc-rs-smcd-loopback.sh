# vms: 1
# timeout: 900
# append: kunit.filter_glob=smc_rs*
# smc_rs over the dibs loopback device with a user EID: SMC-Dv2 connections
# whose data goes through the DMBs (counted by smc_rs per role), both socket
# kinds, 1 and 250 connections, every byte checked by smctest; the socket-API
# cases of `smctest sockapi` over SMC-D (blocking and non-blocking calls,
# MSG_PEEK/WAITALL/DONTWAIT, poll/epoll, shutdown, close with data pending,
# SIGPIPE, the queue ioctls, a listener closed with pending connections,
# 1000 connect/close cycles). Also the user EID commands of SMC_GEN_NETLINK as
# C answers them, and no SMC-D without the EID.
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-LOOPBACK.TEST
port=7300

# rs KEY: smc_rs's count `srv|clnt KEY N` from debugfs, as `KEY_srv N` lines.
rs_counts() { awk '{ print $2 "_" $1, $3 }' /sys/kernel/debug/smc_rs/fallback; }


check smc-rs-load modprobe smc_rs
check ueid-add smctest ueid add "$EID"
check ueid-listed sh -c "smctest ueid list | grep -qx 'ueid $EID'"
check ueid-add-duplicate-refused sh -c "! smctest ueid add '$EID'"
check ueid-add-invalid-refused sh -c "! smctest ueid add 'BAD_EID'"

rs_counts >/tmp/r0
lo_stream rs-smcd-af-smc-1 smc 1 8M
lo_stream rs-smcd-inet-250 inet 250 256K
rs_counts >/tmp/r1
cat /tmp/r1 | sed 's/^/  smc_rs: /'
d() { echo $(( $(val /tmp/r1 "$1") - $(val /tmp/r0 "$1") )); }
check smcd-srv-counted test "$(d smcd_srv)" = 251
check smcd-clnt-counted test "$(d smcd_clnt)" = 251
check smcd-no-srv-hshake-err test "$(d hshake_err_srv)" = 0
check smcd-no-clnt-hshake-err test "$(d hshake_err_clnt)" = 0

# The socket API over SMC-D (every connection of it is SMC-D: counted below).
rs_counts >/tmp/r3
sockapi sockapi-smcd smc 7350
sockapi sockapi-smcd-inet6 inet6 7450
rs_counts >/tmp/r4
check sockapi-all-smcd test "$(( $(val /tmp/r4 smcd_clnt) - $(val /tmp/r3 smcd_clnt) ))" -ge 400
check sockapi-no-fallback test "$(val /tmp/r4 0x05000000_clnt)" = "$(val /tmp/r3 0x05000000_clnt)"

# Without the EID: TCP again, for C's reasons.
check ueid-del smctest ueid del "$EID"
check ueid-empty sh -c "! smctest ueid list | grep -q ."
lo_stream rs-no-ueid-fallback smc 2 1M
rs_counts >/tmp/r2
check no-ueid-no-smcd test "$(val /tmp/r2 smcd_srv)" = "$(val /tmp/r4 smcd_srv)"

rs_counts >/tmp/r5
# (Since the load: the module's own KUnit case refuses one bad peer at load.)
check no-cdc-refused test "$(val /tmp/r5 refused_cdc)" = "$(val /tmp/r0 refused_cdc)"
check smc-rs-unload modprobe -r smc_rs
exit $fails
