# vms: 2
# timeout: 900
# append: kunit.filter_glob=smc_rs*
# A VM that dies without warning in the middle of SMC-D streams over the
# ism_ivshmem fabric: vmrun SIGKILLs the guest's QEMU (no driver unbind, no
# SMC close, no shutdown event). The ivshmem server sees its QEMU go, clears its presence bit and
# rings the survivors; the host's driver frees the dead VM's slot and tells
# the DIBS clients, and the C smc tears the link group down: the host's
# sockets fail promptly, its kernel stays clean (vmrun checks splats and
# kmemleak), and the dead VM's link group and DMBs are gone, including those
# it had attached (written into directly).
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-FABRIC.TEST
# The streams the guest dies in the middle of. (Over the old relay link
# the dying guest's last meet answer never reached the host with 50; over
# the bridge it does.)
N=50

check ism-load modprobe ism_ivshmem
dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* | head -1)
check c-smc-load modprobe smc
check ueid-add smctest ueid add "$EID"

meet ready > /dev/null

# One connection first, so that the link group exists and none of the
# doomed streams below is a first contact: the C smc's SMC-D client may
# take the accepts of parallel first contacts out of order and decline one
# (SYNCERR), which ends the link group under the others (found by 42).
if [ "$VM_ROLE" = host ]; then
	smctest stream server --family inet --port 7200 --conns 1 --bytes 1M \
		--expect smcd --timeout 300 --name lgr-up-server >/tmp/l.out 2>&1
else
	smctest stream client --family inet --addr "$PEER_IP" --port 7200 --conns 1 \
		--bytes 1M --expect smcd --timeout 300 --name lgr-up-client >/tmp/l.out 2>&1
fi
grep "^TEST " /tmp/l.out || echo "TEST lgr-up-$VM_ROLE FAIL"
meet lgr-up > /dev/null

if [ "$VM_ROLE" = guest ]; then
	smctest stream client --family inet --addr "$PEER_IP" --port 7201 --conns "$N" \
		--bytes 512M --expect any --timeout 300 --name doomed-client >/tmp/c.out 2>&1 &
	client=$!
	# Die only once all N connections are SMC-D and streaming: the
	# client attaches (writes straight into) one host DMB per connection.
	# Dying in the middle of a CLC handshake is another test's business.
	start=$(cut -d. -f1 /proc/uptime)
	wait_attached "$N"
	echo "$N connections attached after $(( $(cut -d. -f1 /proc/uptime) - start )) s"
	cat "$dev/fabric"
	check copy-avoidance-attached sh -c "[ $(fabric attached) -ge $N ]"
	if [ "$(fabric attached)" -lt "$N" ]; then
		# Show where the handshakes stand, then end the streams cleanly
		# instead of dying: the host's checks fail, nothing hangs.
		cat /tmp/c.out; smctest linkgroups; smctest stats
		echo w > /proc/sysrq-trigger; sleep 1
		kill "$client"; wait
		meet dying failed > /dev/null
		exit 1
	fi
	meet dying now > /dev/null
	# Our answer to the meet may still sit in this VM's socket (its CPUs
	# are busy with the streams): give it time to reach the host, whose
	# meet waits for it, before this VM is gone.
	sleep 3
	# Die: vmrun kills this VM's QEMU (SIGKILL) on this line, as when the
	# host loses the process: nothing in this kernel runs any more.
	echo VMRUN-KILL-ME
	sleep 600
	exit 1
fi

cat "$dev/fabric"
smctest stream server --family inet --port 7201 --conns "$N" --bytes 512M \
	--expect any --timeout 300 --name doomed-server >/tmp/d.out 2>&1 &
server=$!
# The guest says when it is about to die (or that it will not).
meet dying
start=$(cut -d. -f1 /proc/uptime)
wait $server
rc=$?
took=$(( $(cut -d. -f1 /proc/uptime) - start ))
grep -v '^  conn \|^TEST ' /tmp/d.out | head -20
echo "streams ended $took s after the guest died (exit $rc)"
check dead-peer-streams-fail test $rc -ne 0
# The failure comes well before the 60 s idle timeout.
check dead-peer-streams-fail-promptly test "$took" -lt 45
# The link group to the dead VM goes (SMC tears it down on the device event).
i=0
until ! smctest linkgroups | grep -q '^smcd_lgr '; do
	i=$((i + 1)); [ $i -lt 100 ] || break
	sleep 0.2
done
smctest linkgroups
check dead-peer-lgr-gone sh -c "! smctest linkgroups | grep -q '^smcd_lgr '"
cat "$dev/fabric"
check dead-peer-dmbs-freed grep -qx 'dmbs 0' "$dev/fabric"
# The dead VM had attached the host's DMBs: its attaches died with it, so
# none waits for a detach that will never come.
check dead-peer-attaches-void grep -qx 'retired 0' "$dev/fabric"
check dead-peer-free-granules sh -c "[ $(fabric free_granules) -gt 0 ]"

check ism-unload rmmod ism_ivshmem
check c-smc-unload modprobe -r smc_diag smc
exit $fails
