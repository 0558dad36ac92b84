# vms: 2
# timeout: 900
# append: kunit.filter_glob=smc_rs*
# Real CLC handshakes of the kernel's C smc between two VMs over eth0 and
# the ism_ivshmem fabric, captured on the host VM's eth0 with `smctest
# clccap` and printed as `clccap NAME: ...` lines (see 33-clc-capture.sh):
# SMC-Dv2 with a user EID (first contact: real GIDs and CHIDs of the fabric
# and of the dibs loopback device in the proposal), the same with PNET IDs
# as well (SMC-Dv1 and v2 offered; the link group is reused), and, on new
# devices (a new link group), PNET IDs without an EID: SMC-Dv1 first
# contact.
set -u
. "$EXTRA/checks.inc"
. "$EXTRA/clccap.inc"
EID=SMC-RS-CLCCAP.TEST

# xstream NAME PORT EXPECT: one connection from the guest VM to the host VM;
# both VMs call it, the host captures on eth0.
xstream() {
	if [ "$VM_ROLE" = host ]; then
		capture "$1" eth0 "$2" 1
		smctest stream server --family inet --port "$2" --conns 1 --bytes 4K \
			--expect "$3" --timeout 120 --name "$1-server" >/tmp/s.out 2>&1 &
		spid=$!
		i=0
		until grep -q '^listening' /tmp/s.out || [ $i -ge 300 ]; do
			i=$((i + 1))
			sleep 0.1
		done
		meet "$1" >/dev/null
		wait $spid
		rc=$?
		captured
	else
		meet "$1" >/dev/null
		smctest stream client --family inet --addr "$PEER_IP" --port "$2" --conns 1 \
			--bytes 4K --expect "$3" --timeout 120 --connect-timeout 60 \
			--name "$1-client" >/tmp/s.out 2>&1
		rc=$?
	fi
	grep '^TEST \|^mode_\|rsn' /tmp/s.out
	grep -q "^TEST $1-" /tmp/s.out || echo "TEST $1-$VM_ROLE FAIL (exit $rc)"
	[ $rc -eq 0 ] || fails=$((fails + 1))
}

check c-smc-load modprobe smc
smctest sysinfo
check ism-load modprobe ism_ivshmem
pci=$(basename "$(ls -d /sys/kernel/debug/ism_ivshmem/* | head -1)")
echo "ism device $pci fabric $(cat "/sys/class/dibs/$pci/fabric_id") gid $(cat "/sys/class/dibs/$pci/gid")"
check ueid-add smctest ueid add "$EID"
meet start >/dev/null

# SMC-Dv2 across the fabric.
xstream x-v2 7201 smcd
# PNET IDs on eth0 and the fabric device as well: SMC-Dv1 is offered too.
check pnet-add-eth smctest pnet add NETX eth0
check pnet-add-ism smctest pnet add NETX "$pci"
meet pnet >/dev/null
xstream x-v1v2 7202 smcd
# New devices (their link groups end with the old ones), PNET IDs and no
# EID: SMC-Dv1 only, first contact.
check ueid-del smctest ueid del "$EID"
check ism-unload-1 rmmod ism_ivshmem
check ism-reload modprobe ism_ivshmem
# The PNET table entry names the device, which gets the PNET ID again.
smctest pnet list
check pnet-kept sh -c "smctest pnet list | grep -q '^pnet NETX eth=n/a ib=0000:'"
meet v1 >/dev/null
xstream x-v1 7203 smcd
smctest linkgroups
meet done >/dev/null

if [ "$VM_ROLE" = host ]; then
	check x-v2-synopt want x-v2 "SYNOPT 1 syn=1 synack=1"
	# v2 first contact: SMC-D eye catcher, version 2, first contact bit.
	check x-v2-msgs want x-v2 "CLC 1 c2s proposal e2d4c3d9" "CLC 1 s2c accept e2d4c3c402....29" \
		"CLC 1 c2s confirm e2d4c3c403....29"
	check x-v2-count nclc x-v2 3
	check x-v1v2-msgs want x-v1v2 "CLC 1 c2s proposal e2d4c3d901....25" \
		"CLC 1 s2c accept e2d4c3c402004e21" "CLC 1 c2s confirm e2d4c3c403004e21"
	# v1 first contact: 48 bytes, version 1, first contact bit.
	check x-v1-msgs want x-v1 "CLC 1 c2s proposal e2d4c3d9" "CLC 1 s2c accept e2d4c3c402003019" \
		"CLC 1 c2s confirm e2d4c3c403003019"
fi

check pnet-flush smctest pnet flush
check ism-unload rmmod ism_ivshmem
check c-smc-unload modprobe -r smc_diag smc
exit $fails
