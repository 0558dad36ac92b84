#!/bin/sh
# The demo, run in both VMs by scripts/vmrun: load the modules, show the ISM
# device, and ring a doorbell from the host VM to the guest VM and back.
set -u
say() { echo "demo: $*"; }

modprobe ism_ivshmem || { say "cannot load ism_ivshmem"; exit 1; }
modprobe smc_rs || { say "cannot load smc_rs"; exit 1; }
say "modules loaded:"; grep -E '^(smc_rs|ism_ivshmem) ' /proc/modules

dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* 2>/dev/null | head -1)
[ -n "$dev" ] || { say "no ISM device"; exit 1; }
id=$(cat "$dev/id")
say "ISM device $(basename "$dev"): peer id $id, $(( $(cat "$dev/shm_size") >> 20 )) MiB shared memory"
dmesg | grep ism_ivshmem | tail -2

# Learn the other VM's peer id over the virtio-net link.
nc -l -p 7000 > /tmp/peer_id &
i=0
until echo "$id" | nc "$PEER_IP" 7000 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 120 ] || { say "peer unreachable"; exit 1; }
	sleep 0.5
done
wait
peer=$(cat /tmp/peer_id)
say "the other VM is peer $peer"

count() { awk -v v="$1" '$1 == v { print $2 }' "$dev/doorbells"; }
await() { # vector
	i=0
	until [ "$(count "$1")" -ge 1 ]; do
		i=$((i + 1)); [ $i -lt 300 ] || { say "no doorbell on vector $1"; return 1; }
		sleep 0.1
	done
}

if [ "$VM_ROLE" = host ]; then
	say "ringing peer $peer, vector 0"
	echo "$peer 0" > "$dev/ring"
	await 1 && say "doorbell from peer $peer arrived on vector 1"
else
	await 0 && say "doorbell from peer $peer arrived on vector 0"
	say "ringing peer $peer, vector 1"
	echo "$peer 1" > "$dev/ring"
fi
say "doorbells received per vector:"; cat "$dev/doorbells" | sed 's/^/  /'
