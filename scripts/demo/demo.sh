#!/bin/sh
# The demo, run in both VMs by scripts/vmrun: each VM joins the ISM fabric
# that our ism_ivshmem driver makes of the shared ivshmem region, and our
# Rust AF_SMC (smc_rs, on both VMs) talks SMC-D between them over it: one
# checksummed 64 MiB stream each way, counted as SMC-D by smc_rs, with the
# VMs' network link carrying only the handshake; then the same stream over
# plain TCP on that link, for its rate beside SMC-D's.
set -u
say() { echo "demo: $*"; }
EID=SMC-RS-DEMO.FABRIC
link_bytes() { cat /sys/class/net/eth0/statistics/tx_bytes /sys/class/net/eth0/statistics/rx_bytes | awk '{ n += $1 } END { print n }'; }

modprobe ism_ivshmem || { say "cannot load ism_ivshmem"; exit 1; }
dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* 2>/dev/null | head -1)
[ -n "$dev" ] || { say "no ISM device"; exit 1; }
pci=$(basename "$dev")
say "ISM device $pci joined the fabric: $(( $(cat "$dev/shm_size") >> 20 )) MiB shared region"
sed 's/^/  /' "$dev/fabric" | head -4
say "as a DIBS device: /sys/class/dibs/$pci gid $(cat /sys/class/dibs/$pci/gid)" \
	"fabric $(cat /sys/class/dibs/$pci/fabric_id)"

modprobe smc_rs || { say "cannot load smc_rs"; exit 1; }
# x86 has no system EID: SMC-Dv2 needs the same user EID on both sides
# (set through smc_rs's SMC_GEN_NETLINK family, as for the C smc).
smctest ueid add "$EID" || exit 1
say "smc_rs (AF_SMC in Rust) loaded, user EID $(smctest ueid list)"

# stream FAMILY PORT: host serves, guest connects; 64 MiB each way, checked.
stream() {
	if [ "$VM_ROLE" = host ]; then
		smctest stream server --family "$1" --port "$2" --conns 1 --bytes 64M \
			--name "demo-$1-server" > /tmp/s.out 2>&1
	else
		smctest stream client --family "$1" --addr "$PEER_IP" --port "$2" --conns 1 \
			--bytes 64M --connect-timeout 60 --name "demo-$1-client" > /tmp/s.out 2>&1
	fi
	rc=$?
	grep -E '^(conns_ok|tx_bytes|rx_bytes|tx_mbit_s|rx_mbit_s|TEST) ' /tmp/s.out | sed 's/^/  /'
	return $rc
}

before=$(awk '$2 == "smcd" { n += $3 } END { print n + 0 }' /sys/kernel/debug/smc_rs/fallback)
l0=$(link_bytes)
say "SMC-D: one stream over AF_SMC through the fabric"
stream smc 7100
rc=$?
l1=$(link_bytes)
after=$(awk '$2 == "smcd" { n += $3 } END { print n + 0 }' /sys/kernel/debug/smc_rs/fallback)
say "smc_rs counted $((after - before)) SMC-D connection(s) on this VM (no fallback);" \
	"the network link carried $((l1 - l0)) bytes meanwhile, for 128 MiB of data"
say "doorbells received per vector:"; sed 's/^/  /' "$dev/doorbells" | head -2

say "TCP: the same stream over the VMs' network link"
stream tcp 7101 || rc=1

# Leave cleanly: smc_rs (its link groups end), then the device.
sleep 2
rmmod smc_rs && rmmod ism_ivshmem
exit $rc
