# vms: 2
# append: kunit.filter_glob=smc_rs*
# The ivshmem ISM driver: binds the ivshmem-doorbell device, maps its shared
# memory, learns its peer ID, and takes a doorbell rung by the other VM.
set -u
. "$EXTRA/checks.inc"

check ism-ivshmem-load modprobe ism_ivshmem
dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* 2>/dev/null | head -1)
check ism-ivshmem-bound test -n "$dev" -a -e "/sys/bus/pci/drivers/ism_ivshmem/$(basename "$dev")"
[ -n "$dev" ] || exit 1
id=$(cat "$dev/id")
check ism-ivshmem-shm-size test "$(cat "$dev/shm_size")" -eq $((64 << 20))
grep ism_ivshmem /proc/interrupts | head -4

# Exchange peer IDs over the virtio-net link.
nc -l -p 7000 > /tmp/peer_id &
i=0
until echo "$id" | nc "$PEER_IP" 7000 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 240 ] || break
	sleep 0.5
done
wait
peer=$(cat /tmp/peer_id)
check ism-ivshmem-distinct-ids test -n "$peer" -a "$peer" != "$id"

count() { awk -v v="$1" '$1 == v { print $2 }' "$dev/doorbells"; }
await() { # vector
	i=0
	until [ "$(count "$1")" -ge 1 ]; do
		i=$((i + 1)); [ $i -lt 600 ] || return 1
		sleep 0.1
	done
}
if [ "$VM_ROLE" = host ]; then
	echo "$peer 0" > "$dev/ring"
	check ism-ivshmem-doorbell-in await 1
else
	check ism-ivshmem-doorbell-in await 0
	echo "$peer 1" > "$dev/ring"
fi
check ism-ivshmem-ring-bad-input sh -c "! echo garbage > $dev/ring"
# Stay until the other VM has seen its doorbell, then unbind cleanly.
sleep 2
check ism-ivshmem-unload rmmod ism_ivshmem
check ism-ivshmem-reload modprobe ism_ivshmem
check ism-ivshmem-unload-again rmmod ism_ivshmem
exit $fails
