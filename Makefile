# Thin wrapper over CMake presets; the two quick-start commands live here.
#   make        release build, binary at build/gil-lab
#   make demo   setup + release build + the default experiment
#   make test   setup + build + every test, then again under ASan/UBSan and TSan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build setup setup-test demo test test-release test-asan test-tsan clean

all: build

setup:
	@sh scripts/setup.sh

setup-test:
	@sh scripts/setup.sh test

build:
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

demo: setup build
	./build/gil-lab

test: setup-test test-release test-asan test-tsan

test-release: build
	ctest --preset release -j $(JOBS)

test-asan:
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

test-tsan:
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -j $(JOBS)

clean:
	rm -rf build
