# vms: 2
# timeout: 900
# append: kunit.filter_glob=smc_rs_proto
# smc_rs serving SMC-D streams to a C smc client on a VM that dies without
# warning (vmrun SIGKILLs its QEMU): the fabric reports the peer gone, smc_rs
# ends its link group with it (the DIBS device event), the host's sockets
# fail promptly instead of waiting for a peer that will never write again,
# and the host's DMBs are unregistered; the kernel stays clean (splats,
# kmemleak) and smc_rs unloads.
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-FABRIC.TEST
N=4

check ism-load modprobe ism_ivshmem
dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* | head -1)
if [ "$VM_ROLE" = host ]; then
	check smc-rs-load modprobe smc_rs
else
	check c-smc-load modprobe smc
fi
check ueid-add smctest ueid add "$EID"
meet ready > /dev/null

# One connection first, so that the link group exists and the doomed streams
# are no first contacts.
if [ "$VM_ROLE" = host ]; then
	smctest stream server --family smc --port 7200 --conns 1 --bytes 1M \
		--timeout 300 --name lgr-up-server >/tmp/l.out 2>&1
else
	smctest stream client --family smc --addr "$PEER_IP" --port 7200 --conns 1 \
		--bytes 1M --expect smcd --timeout 300 --name lgr-up-client >/tmp/l.out 2>&1
fi
grep "^TEST " /tmp/l.out || echo "TEST lgr-up-$VM_ROLE FAIL"
meet lgr-up > /dev/null

if [ "$VM_ROLE" = guest ]; then
	smctest stream client --family smc --addr "$PEER_IP" --port 7201 --conns "$N" \
		--bytes 512M --expect any --timeout 300 --name doomed-client >/tmp/c.out 2>&1 &
	# Die once the streams run (all N SMC-D: C attaches one host DMB each).
	wait_attached "$N"
	cat "$dev/fabric"
	meet dying now > /dev/null
	sleep 3
	echo VMRUN-KILL-ME
	sleep 600
	exit 1
fi

smctest stream server --family smc --port 7201 --conns "$N" --bytes 512M \
	--timeout 300 --name doomed-server >/tmp/d.out 2>&1 &
server=$!
meet dying
start=$(cut -d. -f1 /proc/uptime)
wait $server
rc=$?
took=$(( $(cut -d. -f1 /proc/uptime) - start ))
grep -v '^  conn \|^TEST \|diag_error' /tmp/d.out | head -20
echo "streams ended $took s after the guest died (exit $rc)"
check dead-peer-streams-fail test $rc -ne 0
check dead-peer-streams-fail-promptly test "$took" -lt 45
# Our DMBs go with the link group (the first connection's closed normally).
i=0
until [ "$(fabric dmbs)" = 0 ] || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.2; done
cat "$dev/fabric"
check dead-peer-dmbs-freed test "$(fabric dmbs)" = 0
check smc-rs-unload modprobe -r smc_rs
check ism-unload rmmod ism_ivshmem
exit $fails
