# vms: 1
# The Rust AF_SMC module: registers family 43, sockets open and close, every
# other call is EOPNOTSUPP for now; it and the C smc module exclude each other.
set -u
check() { # name command...
	name=$1; shift
	if "$@" >/tmp/t.out 2>&1; then echo "TEST $name PASS"; else echo "TEST $name FAIL"; sed 's/^/    /' /tmp/t.out; fi
}
not() { ! "$@"; }

smctest no-family
check smc-rs-load modprobe smc_rs
grep -q '^SMC-RS ' /proc/net/protocols && echo "TEST smc-rs-proto-listed PASS" || echo "TEST smc-rs-proto-listed FAIL"
smctest skeleton
check c-smc-refused-while-rust-loaded not modprobe smc
check smc-rs-unload rmmod smc_rs
smctest no-family
check c-smc-load modprobe smc
check smc-rs-refused-while-c-loaded not modprobe smc_rs
check c-smc-unload modprobe -r smc
check smc-rs-reload modprobe smc_rs
check smc-rs-unload-again rmmod smc_rs
exit 0
