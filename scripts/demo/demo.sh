#!/bin/sh
# The demo, run in both VMs by scripts/vmrun: each VM joins the ISM fabric
# that our ism_ivshmem driver makes of the shared ivshmem region, and the
# kernel's own C smc then talks SMC-D between the two VMs over it: one
# checksummed 16 MiB stream each way, counted as SMC-D, on a link group of
# our fabric.
set -u
say() { echo "demo: $*"; }
EID=SMC-RS-DEMO.FABRIC

modprobe ism_ivshmem || { say "cannot load ism_ivshmem"; exit 1; }
dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* 2>/dev/null | head -1)
[ -n "$dev" ] || { say "no ISM device"; exit 1; }
pci=$(basename "$dev")
say "ISM device $pci joined the fabric: $(( $(cat "$dev/shm_size") >> 20 )) MiB shared region"
sed 's/^/  /' "$dev/fabric"
say "as a DIBS device: /sys/class/dibs/$pci gid $(cat /sys/class/dibs/$pci/gid)" \
	"fabric $(cat /sys/class/dibs/$pci/fabric_id)"

modprobe smc || { say "cannot load the C smc"; exit 1; }
# x86 has no system EID: SMC-Dv2 needs the same user EID on both sides.
smctest ueid add "$EID" || exit 1
say "C smc loaded, user EID $EID; its SMC-D devices:"
smctest devices | sed 's/^/  /'

if [ "$VM_ROLE" = host ]; then
	say "serving one SMC-D stream on port 7100 (AF_INET, IPPROTO_SMC)"
	smctest stream server --family inet --port 7100 --conns 1 --bytes 16M \
		--expect smcd --name demo-server > /tmp/s.out 2>&1
else
	say "connecting to $PEER_IP:7100 (AF_INET, IPPROTO_SMC)"
	smctest stream client --family inet --addr "$PEER_IP" --port 7100 --conns 1 \
		--bytes 16M --expect smcd --name demo-client > /tmp/s.out 2>&1
fi
rc=$?
grep -E '^(conns_ok|mode_smcd|mode_fallback|tx_bytes|rx_bytes|tx_mbit_s|TEST) ' /tmp/s.out | sed 's/^/  /'
say "the C smc's own statistics:"
smctest stats | grep -E '^smcd_(clnt|srv)_v2_succ|^fback_(srv|clnt)_cnt|^smcd_(tx|rx)_bytes' | sed 's/^/  /'
say "its link group (chid = our fabric ID, not the loopback device's 0xffff):"
smctest linkgroups | sed 's/^/  /'
say "doorbells received per vector:"; sed 's/^/  /' "$dev/doorbells" | head -2

# Leave cleanly: the device first (it ends SMC's link groups), then smc.
sleep 2
rmmod ism_ivshmem && modprobe -r smc_diag smc
exit $rc
