# orchard: everything a person needs, wrapped. `make run` and `make test`
# install missing Debian packages first (scripts/deps.sh), then build.
BUILD ?= build
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

# The main job. Until `orchard serve` exists it is the local query shell.
run: build
	@echo '$$ orchard query "select * from orchard_plugins"'
	@$(BUILD)/orchard query "select * from orchard_plugins"
	@echo
	@echo 'Ask more with $(BUILD)/orchard query "SQL" (add --json for JSON),'
	@echo 'list commands with $(BUILD)/orchard help, and see docs/tables.md for every table.'

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
