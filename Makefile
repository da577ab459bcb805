# svc-controllers: plain, non-recursive GNU make (style.md §10).
#   make                 release build of ./svc-controllers
#   make SANITIZE=address,undefined   clang ASan+UBSan build in build/asan
#   make SANITIZE=thread              clang TSan build in build/tsan
#   make test            unit + integration tests (hack/run-tests.sh)
#   make run             the controllers against a local kube-apiserver
#   make bench | lint | fuzz | hdr-check | fmt | fmt-check | clean

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
COMMIT  := $(shell git rev-parse --short=7 HEAD 2>/dev/null || echo 0000000)

SANITIZE ?=
ifeq ($(SANITIZE),)
  CONFIG ?= release
  CC ?= cc
  SANFLAGS :=
else ifeq ($(SANITIZE),thread)
  CONFIG ?= tsan
  CC := clang
  SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else ifeq ($(SANITIZE),fuzz)
  CONFIG ?= fuzz
  CC := clang
  SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
  CONFIG ?= asan
  CC := clang
  SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
ifeq ($(CC),cc)
  CC := gcc
endif

B := build/$(CONFIG)
# V=1 shows full compiler command lines.
Q := $(if $(filter 1,$(V)),,@)
PKGS := libcurl yajl sqlite3 openssl yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wold-style-definition -Wpointer-arith \
	-Wwrite-strings -Wformat=2 -Wvla -Wundef -Wimplicit-fallthrough \
	-fno-common
# -Werror always (CI and developers alike); DEVELOPER=0 relaxes it locally.
ifneq ($(DEVELOPER),0)
  WARN += -Werror
endif

OPT := -O2
ifeq ($(CONFIG),release)
  OPT += -D_FORTIFY_SOURCE=2 -fstack-protector-strong
else
  OPT := -O1
endif

CPPFLAGS := -Iinclude -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DSVC_VERSION='"$(VERSION)"' -DSVC_COMMIT='"$(COMMIT)"' $(PKG_CFLAGS)
CFLAGS := -std=c11 -g $(OPT) $(WARN) $(SANFLAGS) -pthread -MMD -MP
LDFLAGS := $(SANFLAGS) -pthread
LIBS := $(PKG_LIBS) -lm

APICLIENT_SRC := $(sort $(wildcard apiclient/*.c))
ALLOCATOR_SRC := $(sort $(wildcard allocator/*.c))
CONTROLLERS_SRC := $(sort $(filter-out controllers/main.c,$(wildcard controllers/*.c)))
LIB_SRC := $(APICLIENT_SRC) $(ALLOCATOR_SRC) $(CONTROLLERS_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
# Test builds see TESTABLE functions; the product keeps them static.
LIB_TOBJ := $(LIB_SRC:%.c=$(B)/t/%.o)

TEST_SRC := $(sort $(wildcard tests/test-*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)
IT_SRC := $(sort $(wildcard tests/integration/it-*.c))
IT_BIN := $(IT_SRC:tests/integration/%.c=$(B)/tests/%)
FAKE_SRC := $(sort $(wildcard tests/fakes/*.c))
FAKE_OBJ := $(FAKE_SRC:%.c=$(B)/t/%.o)
ITLIB_SRC := $(sort $(wildcard tests/integration/itlib*.c))
ITLIB_OBJ := $(ITLIB_SRC:%.c=$(B)/t/%.o)
UNIT_OBJ := $(B)/t/tests/unit.o

BIN := svc-controllers
ifneq ($(CONFIG),release)
  BIN := $(B)/svc-controllers
endif

.PHONY: all check test tests benches tools run bench lint fuzz hdr-check fmt fmt-check clean deps
.DEFAULT_GOAL := all

all: $(BIN)

$(BIN): $(B)/controllers/main.o $(B)/libsvc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/libsvc.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libsvc-t.a: $(LIB_TOBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/t/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) -DUNIT_TESTING -Itests $(CFLAGS) -c -o $@ $<

# Fakes are linked before the library, so their symbols win (link seams).
# A test names the fakes it wants in a comment line "FAKES: name name".
fakes_for = $(addprefix $(B)/t/tests/fakes/,$(addsuffix .o,$(shell sed -n 's/^ \* FAKES: //p' $(1))))

.SECONDARY:
.SECONDEXPANSION:
$(B)/tests/test-%: $(B)/t/tests/test-%.o $(UNIT_OBJ) $$(call fakes_for,tests/test-%.c) $(B)/libsvc-t.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/it-%: $(B)/t/tests/integration/it-%.o $(UNIT_OBJ) $(ITLIB_OBJ) $(B)/libsvc-t.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

tests: $(BIN) $(TEST_BIN) $(IT_BIN)

check test: tests
	CONFIG=$(CONFIG) BIN=$(abspath $(BIN)) hack/run-tests.sh $(B)

run: $(BIN) tools
	DEMO=$(abspath $(B)/tools/demo-workload) hack/run-local.sh $(abspath $(BIN))

bench: $(BIN) benches
	hack/bench.sh $(B)

lint:
	hack/lint.sh

fuzz:
	hack/fuzz.sh

hdr-check:
	@mkdir -p $(B)
	@for h in include/*.h; do \
		echo "#include \"base.h\"" > $(B)/hdr.c; echo "#include \"$$(basename $$h)\"" >> $(B)/hdr.c; \
		$(CC) $(CPPFLAGS) $(filter-out -MMD -MP,$(CFLAGS)) -fsyntax-only $(B)/hdr.c || exit 1; \
	done; echo "headers are self-contained"

fmt:
	clang-format -i $(LIB_SRC) controllers/main.c include/*.h tests/*.c tests/*.h

fmt-check:
	clang-format --dry-run --Werror $(LIB_SRC) controllers/main.c include/*.h

deps:
	hack/install-deps.sh

clean:
	rm -rf build svc-controllers

-include $(shell find build -name '*.d' 2>/dev/null)

BENCH_SRC := $(sort $(wildcard tests/bench/bench-*.c))
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)
# bench-create talks to the binary's listeners with the tests' helpers.
$(B)/bench/bench-create: $(B)/t/tests/bench/bench-create.o \
		$(B)/t/tests/integration/itlib_http.o $(B)/libsvc-t.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/bench/bench-%: $(B)/t/tests/bench/bench-%.o $(B)/libsvc-t.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
benches: $(BENCH_BIN)

TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
$(B)/tools/%: $(B)/t/tests/tools/%.o $(B)/libsvc-t.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
tools: $(TOOL_BIN)
