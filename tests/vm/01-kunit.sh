# vms: 1
# The KUnit run at boot: the kernel's Rust doctests, which include the
# examples of our abstractions (rust/kernel/net/family.rs, pci/membar.rs,
# pci/vectors.rs), and the built-in suite smc_rs_dibs_client
# (rust/kernel/dibs/client.rs: a Rust DIBS client's DMBs over the dibs
# loopback device). The rig counts every KUnit case; the other scripts filter
# the doctests out (kunit.filter_glob=smc_rs*, which keeps smc_rs_dibs_client)
# to boot faster.
grep -q . /sys/kernel/debug/kunit/rust_doctests_kernel/results 2>/dev/null || ls /sys/kernel/debug/kunit/ 2>/dev/null | head -3
echo "TEST kunit-boot-run PASS"
