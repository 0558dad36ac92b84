# vms: 1
# append: kunit.filter_glob=smc_rs_proto
# The Rust AF_SMC module: registers family 43 and is a DIBS client; sockets
# open and close, addresses are checked; it and the C smc module exclude
# each other.
# (socket(AF_SMC) autoloads the C smc when no module owns the family, so
# smc_rs is loaded before any AF_SMC socket is made.)
set -u
. "$EXTRA/checks.inc"
loaded() { grep -q "^$1 " /proc/modules; }
refused() { # module: modprobe fails and the module is not loaded
	modinfo "$1" >/dev/null || { echo "no module $1"; return 1; }
	! modprobe "$1" && ! loaded "$1"
}

check smc-rs-load modprobe smc_rs
check smc-rs-proto-listed grep -q '^SMC-RS ' /proc/net/protocols
# smc_rs is a DIBS client: it sees the devices there are and those that come
# and go (the loopback device is built in; ism_ivshmem is a module).
seen() { dmesg | grep 'smc_rs: SMC-D device' | sed 's/^\[[^]]*\] //'; }
check smc-rs-sees-loopback sh -c "dmesg | grep -q 'smc_rs: SMC-D device GID .*(loopback)'"
check ism-load modprobe ism_ivshmem
check smc-rs-sees-ism sh -c "dmesg | grep 'smc_rs: SMC-D device GID' | grep -vq loopback"
check ism-unload rmmod ism_ivshmem
check smc-rs-sees-ism-go sh -c "dmesg | grep -q 'smc_rs: SMC-D device removed'"
seen
smctest skeleton || fails=$((fails + 1))
check c-smc-refused-while-rust-loaded refused smc
check smc-rs-unload rmmod smc_rs
check c-smc-load modprobe smc
check smc-rs-refused-while-c-loaded refused smc_rs
check c-smc-unload modprobe -r smc
check smc-rs-reload modprobe smc_rs
check smc-rs-unload-again rmmod smc_rs
exit $fails
