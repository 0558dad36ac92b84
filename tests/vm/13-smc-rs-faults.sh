# vms: 1
# timeout: 600
# append: kunit.filter_glob=smc_rs_faults
# Bad peers against our AF_SMC server (KUnit suite smc_rs_faults, run when
# smc_rs loads: net/smc/faults.rs): a TCP client that negotiates the SMC
# option and then sends garbage, a truncated CLC message, a partial header
# and a close, or nothing (dropped after the 6 s CLC timeout); a listener
# closed with handshakes in flight (closes at once, the clients see their
# connections end); a client that declines (falls back, data intact).
# And bad servers against our AF_SMC client: a TCP listener with the SMC
# option that answers the Proposal with a Decline (falls back, data intact),
# an Accept (the client declines it, falls back), garbage (EPROTO), or
# nothing (ETIMEDOUT after 6 s); a client closed mid-handshake closes at once.
# Every dropped connection is counted as a handshake error; the module
# unloads cleanly afterwards (kmemleak runs after the script).
set -u
. "$EXTRA/checks.inc"
check smc-rs-load modprobe smc_rs
f=/sys/kernel/debug/smc_rs/fallback
sed 's/^/  smc_rs: /' $f
errs=$(awk '$1 == "srv" && $2 == "hshake_err" { print $3 }' $f)
# garbage, truncated, partial header, stalled, 8 in flight at the close.
check server-handshake-errors-counted sh -c "echo hshake_err $errs; [ ${errs:-0} -ge 12 ]"
cerrs=$(awk '$1 == "clnt" && $2 == "hshake_err" { print $3 }' $f)
# garbage, timeout, closed mid-handshake, an Accept of a device not offered.
check client-handshake-errors-counted sh -c "echo hshake_err $cerrs; [ ${cerrs:-0} -ge 4 ]"
# The client that got a Decline fell back for PEERDECL.
check client-fallback-peerdecl sh -c "awk '\$1 == \"clnt\" && \$2 == \"0x05000000\" && \$3 >= 1 { f = 1 } END { exit !f }' $f"
# The client that declined fell back for PEERDECL.
check server-fallback-peerdecl sh -c "awk '\$1 == \"srv\" && \$2 == \"0x05000000\" && \$3 >= 1 { f = 1 } END { exit !f }' $f"
check smc-rs-unload rmmod smc_rs
exit $fails
