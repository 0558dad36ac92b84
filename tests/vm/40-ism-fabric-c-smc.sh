# vms: 2
# timeout: 1200
# append: kunit.filter_glob=smc_rs*
# The kernel's C smc between two VMs over our ism_ivshmem DIBS device:
# SMC-Dv2 with a user EID on both sides, data integrity both ways with 1 and
# 250 parallel connections, counted as SMC-D by the C module's statistics, on
# a link group of our fabric (not the dibs loopback device); then a VM that
# pulls its device out mid-stream (the other side's sockets fail promptly) and
# comes back (connections work again).
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-FABRIC.TEST
dev=


# stream NAME CONNS BYTES PORT: `pair`, host serves, guest connects; both
# check every byte and that every connection is SMC-D (smc_diag).
stream() {
	pair "$1" "$4" --family inet --conns "$2" --bytes "$3" --expect smcd --timeout 600
}

check ism-load modprobe ism_ivshmem
dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* | head -1)
pci=$(basename "$dev")
cat "$dev/fabric"
check dibs-device-registered test -e "/sys/class/dibs/$pci/gid"
fabric=$(cat "/sys/class/dibs/$pci/fabric_id")
check fabric-not-loopback test "$fabric" != 0xffff
meet fabric "$fabric" > /tmp/peer_fabric
peer_fabric=$(cat /tmp/peer_fabric)
check fabric-shared test "$peer_fabric" = "$fabric"

check c-smc-load modprobe smc
check ueid-add smctest ueid add "$EID"
check smcd-device-listed sh -c "smctest devices | grep -q 'pci_id=$pci'"
smctest stats > /tmp/stats0

meet streams > /dev/null
stream fabric-1 1 16M 7101
stream fabric-250 250 256K 7102
smctest stats --since /tmp/stats0 > /tmp/stats1
cat /tmp/stats1
if [ "$VM_ROLE" = host ]; then
	check smcd-v2-counted-server atleast /tmp/stats1 smcd_srv_v2_succ 251
else
	check smcd-v2-counted-client atleast /tmp/stats1 smcd_clnt_v2_succ 251
fi
check no-fallback-server is /tmp/stats1 fback_srv_cnt 0
check no-fallback-client is /tmp/stats1 fback_clnt_cnt 0
smctest linkgroups > /tmp/lgr
cat /tmp/lgr
check lgr-on-our-fabric grep -q "chid=$fabric" /tmp/lgr
check lgr-not-loopback sh -c "! grep -q 'chid=0xffff' /tmp/lgr"
cat "$dev/fabric"

# The guest pulls its device out in the middle of a stream: its connections
# are torn down with the device, the host hears of it through the fabric
# (the leaving VM rings its peers) and its sockets fail well before the
# stream's 60 s idle timeout.
meet pull > /dev/null
if [ "$VM_ROLE" = host ]; then
	start=$(cut -d. -f1 /proc/uptime)
	smctest stream server --family inet --port 7103 --conns 4 --bytes 512M \
		--expect any --timeout 300 --name pulled-server >/tmp/p.out 2>&1
	prc=$?
	took=$(( $(cut -d. -f1 /proc/uptime) - start ))
	grep -v '^  conn \|^TEST ' /tmp/p.out | head -20
	check pulled-stream-fails test $prc -ne 0
	check pulled-stream-fails-promptly test $took -lt 50
else
	smctest stream client --family inet --addr "$PEER_IP" --port 7103 --conns 4 \
		--bytes 512M --expect any --timeout 300 --name pulled-client >/tmp/p.out 2>&1 &
	cpid=$!
	sleep 8
	check ism-unload-with-connections rmmod ism_ivshmem
	wait $cpid
	grep -v '^  conn \|^TEST ' /tmp/p.out | head -20
fi
meet rejoin > /dev/null
if [ "$VM_ROLE" = guest ]; then
	check ism-reload modprobe ism_ivshmem
	dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* | head -1)
	cat "$dev/fabric"
fi
meet rejoined > /dev/null
stream rejoined 1 4M 7104
smctest linkgroups

# The device goes first: that ends the link groups SMC keeps for reuse.
check ism-unload rmmod ism_ivshmem
# smc_diag (loaded by smctest's socket dump) holds smc.
check c-smc-unload modprobe -r smc_diag smc
exit $fails
