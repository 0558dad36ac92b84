# vms: 2
# timeout: 900
# append: kunit.filter_glob=smc_rs*
# Smoke test of the VM rig: boot, the virtio link between the VMs, the
# ivshmem device, and the C smc module. Runs on both VMs (VM_ROLE host or
# guest); also works with one VM (no link test then).
rc=0
pass() { echo "TEST $1 PASS"; }
fail() { echo "TEST $1 FAIL${2:+ ($2)}"; rc=1; }

pass boot

# ivshmem-doorbell: PCI 1af4:1110.
found=
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1110 ]; then found=${d##*/}; fi
done
if [ -n "$found" ]; then echo "ivshmem at $found"; pass ivshmem-present; else fail ivshmem-present; fi

# The C smc module.
if out=$(modprobe smc 2>&1 && rmmod smc 2>&1); then pass c-smc-loads; else fail c-smc-loads "$out"; fi

# The virtio link. The other VM may boot later: retry the ping for up to
# 300 s. Then rendezvous so that neither VM powers off before the other
# has pinged it: the host listens on TCP 7000 only after its own ping
# succeeded, and the guest connects there only after its own ping did.
if [ -n "$PEER_IP" ]; then
	ok=
	i=0
	while [ $i -lt 60 ]; do
		if ping -c 3 -W 5 "$PEER_IP" >/tmp/ping.out 2>&1; then ok=1; break; fi
		i=$((i + 1))
		sleep 2
	done
	cat /tmp/ping.out
	if [ -n "$ok" ]; then pass virtio-link; else fail virtio-link; fi

	case "$VM_ROLE" in
	host)
		msg=$(timeout 300 nc -l -p 7000 </dev/null)
		if [ "$msg" = guest-done ]; then echo "rendezvous: the guest is done"; else echo "rendezvous: no word from the guest"; rc=1; fi
		;;
	guest)
		i=0
		until echo guest-done | nc -w 5 "$PEER_IP" 7000 2>/dev/null; do
			i=$((i + 1))
			if [ $i -ge 150 ]; then echo "rendezvous: the host never listened"; rc=1; break; fi
			sleep 2
		done
		;;
	esac
else
	echo "virtio-link: skipped (one VM)"
fi
exit $rc
