# orchard: everything a person needs, wrapped. `make run` and `make test`
# install missing Debian packages first (scripts/deps.sh), then build.
BUILD ?= build
MAKEFLAGS += --no-print-directory
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build run test sanitize bench docs install clean

all: build

deps:
	@sh scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The main job: the MDM server on the embedded SQLite store, with the APNs
# stand-in in Apple's place (scripts/run_dev.sh). The first run makes dev/
# (scripts/dev_setup.sh: SCEP CA, a development stand-in APNs certificate,
# the stand-in's TLS certificates, a challenge, dev/orchard.yml) and an
# enrollment token.
DEV ?= dev
run: build
	@sh scripts/dev_setup.sh $(BUILD)/orchard $(DEV)
	@[ -s $(DEV)/enroll-token ] || { umask 077; \
		t=$$($(BUILD)/orchard enroll-token create --name "make run" --config $(DEV)/orchard.yml) \
		&& printf '%s\n' "$$t" | tail -n 1 > $(DEV)/enroll-token; }
	@echo "enrollment profile: http://127.0.0.1:8080/api/mdm/apple/enroll?token=$$(cat $(DEV)/enroll-token)"
	@echo "query the server's state: $(BUILD)/orchard query --config $(DEV)/orchard.yml \"select * from mdm_enrollments\""
	@echo "simulated Macs: $(BUILD)/tests/support/mac_sim/mac_sim enroll --url http://127.0.0.1:8080/api/mdm/apple/enroll?token=$$(cat $(DEV)/enroll-token) --state $(DEV)/macs --count 3"
	@exec sh scripts/run_dev.sh $(BUILD) $(DEV)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DORCHARD_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@cmake --build $(BUILD) --target bench

# Rewrite docs/tables.md from specs/tables/*.table.
docs: build
	@cp $(BUILD)/docs/tables.md docs/tables.md
	@echo "docs/tables.md regenerated"

install: build
	@cmake --install $(BUILD)

clean:
	@rm -rf $(BUILD) $(ASAN_BUILD)
