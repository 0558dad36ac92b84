# smc-rs: Shared Memory Communications (AF_SMC, SMC-D) and ISM devices in Rust.
#
#   make demo     boot two VMs joined by an ivshmem ISM fabric, load
#                 ism_ivshmem and smc_rs, stream over SMC-D between them
#                 (and over TCP, for comparison)
#   make test     all tests: cargo tests, kernel build, QEMU tests with the
#                 debug kernel; ends with "N passed, M failed"
#
# FLAVOUR=test|perf picks the kernel (demo defaults to test, which `make
# test` builds too; perf is the one for benchmarks).

FLAVOUR ?= test

.PHONY: all setup kernel modules demo test clean-cache

all: modules

setup:
	scripts/setup

kernel: setup
	scripts/kbuild $(FLAVOUR) kernel

modules: kernel
	scripts/kbuild $(FLAVOUR) modules

demo:
	scripts/demo/run $(FLAVOUR)

test:
	scripts/run-tests

# Build caches live outside the repo (scripts/lib.sh: SMC_CACHE).
clean-cache:
	. scripts/lib.sh && rm -rf "$$SMC_CACHE/linux/build-"* "$$SMC_CACHE/linux/modules-"*
