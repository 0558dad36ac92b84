# vms: 2
# timeout: 1500
# append: kunit.filter_glob=smc_rs_proto
# SMC-D between smc_rs and the kernel's C smc over ism_ivshmem, both ways:
# the host runs smc_rs, the guest the C smc, each with the same user EID.
# First the host serves and the guest connects (C client, Rust server), then
# the other way round; 1 connection of 16M and 250 of 256K each way, every
# byte checked. Then the guest swaps the C smc for smc_rs and the two
# smc_rs talk SMC-D (host serving). Proof that the data went through the
# DMBs, not TCP: both modules count the connections as SMC-D, the C side
# counts the bytes it moved over SMC-D, and the virtio link carried a small
# fraction of them.
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-INTEROP.TEST

# stream NAME ROLE CONNS BYTES PORT: `pair` over AF_SMC, ROLE (host|guest)
# serving.
stream() {
	PAIR_SERVER=$2 pair "$1" "$5" --family smc --conns "$3" --bytes "$4" --timeout 600 \
		-- --connect-timeout 60
}
rs_counts() { awk '{ print $2 "_" $1, $3 }' /sys/kernel/debug/smc_rs/fallback; }
link_bytes() { cat /sys/class/net/eth0/statistics/tx_bytes /sys/class/net/eth0/statistics/rx_bytes | awk '{ n += $1 } END { print n }'; }

check ism-load modprobe ism_ivshmem
dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* | head -1)
if [ "$VM_ROLE" = host ]; then
	check smc-rs-load modprobe smc_rs
else
	check c-smc-load modprobe smc
fi
check ueid-add smctest ueid add "$EID"
if [ "$VM_ROLE" = host ]; then rs_counts >/tmp/c0; else smctest stats >/tmp/c0; fi
l0=$(link_bytes)

meet rust-serves > /dev/null
stream rs-srv-1 host 1 16M 7401
meet > /dev/null
stream rs-srv-250 host 250 256K 7402
meet c-serves > /dev/null
stream c-srv-1 guest 1 16M 7403
meet > /dev/null
stream c-srv-250 guest 250 256K 7404
meet c-done > /dev/null
# The C side's counts, before it goes.
if [ "$VM_ROLE" = guest ]; then
	smctest stats --since /tmp/c0 >/tmp/c1
	sed 's/^/  c: /' /tmp/c1
	check c-smcd-client-counted is /tmp/c1 smcd_clnt_v2_succ 251
	check c-smcd-server-counted is /tmp/c1 smcd_srv_v2_succ 251
	check c-no-fallback-client is /tmp/c1 fback_clnt_cnt 0
	check c-no-fallback-server is /tmp/c1 fback_srv_cnt 0
	check c-smcd-tx-bytes atleast /tmp/c1 smcd_tx_bytes $((2 * (16 + 250 / 4) << 20))
	check c-smcd-rx-bytes atleast /tmp/c1 smcd_rx_bytes $((2 * (16 + 250 / 4) << 20))
	check c-smc-unload unload smc_diag smc
	check guest-smc-rs-load modprobe smc_rs
	check guest-ueid-add smctest ueid add "$EID"
	rs_counts >/tmp/g0
fi
meet rust-rust > /dev/null
stream rs-rs-1 host 1 16M 7405
meet > /dev/null
stream rs-rs-250 host 250 256K 7406
meet done > /dev/null

l1=$(link_bytes)
# 3 x (16M + 250 x 256K) each way.
data=$((3 * 2 * (16 + 250 / 4) << 20))
echo "link bytes $((l1 - l0)) for $data bytes of data"
check link-carried-under-10-percent test $((l1 - l0)) -lt $((data / 10))
cat "$dev/fabric" | sed 's/^/  fabric: /'
check fabric-refused-nothing sh -c "grep -q '^refused_register 0' $dev/fabric && grep -q '^refused_attach 0' $dev/fabric && grep -q '^refused_move_data 0' $dev/fabric"
d() { echo $(( $(val "$2" "$1") - $(val "$3" "$1") )); }
if [ "$VM_ROLE" = host ]; then
	rs_counts >/tmp/c1
	sed 's/^/  smc_rs: /' /tmp/c1
	check rs-smcd-server-counted test "$(d smcd_srv /tmp/c1 /tmp/c0)" = 502
	check rs-smcd-client-counted test "$(d smcd_clnt /tmp/c1 /tmp/c0)" = 251
	check rs-no-srv-hshake-err test "$(d hshake_err_srv /tmp/c1 /tmp/c0)" = 0
	check rs-no-clnt-hshake-err test "$(d hshake_err_clnt /tmp/c1 /tmp/c0)" = 0
	# (Since the load: the module's own KUnit case refuses one bad peer at load.)
	check rs-no-cdc-refused test "$(d refused_cdc /tmp/c1 /tmp/c0)" = 0
else
	rs_counts >/tmp/g1
	sed 's/^/  smc_rs: /' /tmp/g1
	check guest-rs-smcd-client-counted test "$(d smcd_clnt /tmp/g1 /tmp/g0)" = 251
	check guest-rs-no-clnt-hshake-err test "$(d hshake_err_clnt /tmp/g1 /tmp/g0)" = 0
	check guest-rs-no-cdc-refused test "$(d refused_cdc /tmp/g1 /tmp/g0)" = 0
fi
check smc-rs-unload modprobe -r smc_rs
exit $fails
