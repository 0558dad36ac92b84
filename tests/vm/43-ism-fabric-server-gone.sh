# vms: 2
# timeout: 900
# append: kunit.filter_glob=smc_rs*
# The ivshmem (doorbell) server killed in the middle of SMC-D streams over
# ism_ivshmem, with the C smc on both VMs, and a new one started on the same
# socket while they run (vmrun: VMRUN-RESTART-SERVER). The server only hands
# out the region and the eventfds and keeps the presence table: each QEMU
# holds the other's eventfds, so doorbells go on without it, and the new
# server, with a region of its own, touches nothing the running VMs use.
# The streams complete with every byte checked, new SMC-D connections
# between the two VMs still work, and the VMs leave the fabric cleanly at
# the end. (QEMU's ivshmem device never reconnects to a server, so the new
# server cannot take the running VMs back: QEMUs started later join it; see
# Documentation/ism-ivshmem.md.)
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-FABRIC.TEST

check ism-load modprobe ism_ivshmem
dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* | head -1)
check c-smc-load modprobe smc
check ueid-add smctest ueid add "$EID"
meet ready > /dev/null
pair lgr-up 7601 --family inet --conns 1 --bytes 64K --expect smcd --timeout 300
smctest stats > /tmp/stats0

meet streams > /dev/null
if [ "$VM_ROLE" = guest ]; then
	pair gone 7602 --family inet --conns 20 --bytes 16M --expect smcd --timeout 600 &
	p=$!
	# Restart the server once all 20 are SMC-D and streaming (attached).
	wait_attached 20
	check streams-attached sh -c "[ $(fabric attached) -ge 20 ]"
	echo VMRUN-RESTART-SERVER
	wait $p
else
	pair gone 7602 --family inet --conns 20 --bytes 16M --expect smcd --timeout 600
fi

meet after > /dev/null
pair after 7603 --family inet --conns 10 --bytes 1M --expect smcd --timeout 300
smctest stats --since /tmp/stats0 > /tmp/stats1
check no-fallback-server is /tmp/stats1 fback_srv_cnt 0
check no-fallback-client is /tmp/stats1 fback_clnt_cnt 0
cat "$dev/fabric"
meet done > /dev/null
check ism-unload rmmod ism_ivshmem
check c-smc-unload unload smc_diag smc
exit $fails
