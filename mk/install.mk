# make install PREFIX=/usr/local DESTDIR=
#   headers, libbpfvm.a, libbpfvm.so (versioned file, .so.0 and .so links),
#   bin/bpfvm, lib/pkgconfig/bpfvm.pc (from bpfvm.pc.in), share/man/man1/bpfvm.1.
# The install test (tests/install.sh, generated into $(BUILD)/tests) installs
# into a temporary prefix and builds examples/host.c against that copy.
BPFVM_VERSION := $(shell sed -n 's/^\#define BPFVM_VERSION "\(.*\)"/\1/p' include/bpfvm.h)
INSTALL ?= install
IDIR     = $(DESTDIR)$(PREFIX)

.PHONY: install
install: lib $(TOOLS)
	$(INSTALL) -d $(IDIR)/include/bpfvm $(IDIR)/lib/pkgconfig $(IDIR)/bin \
		$(IDIR)/share/man/man1
	$(INSTALL) -m 644 include/bpfvm.h $(IDIR)/include/
	$(INSTALL) -m 644 include/bpfvm/*.h $(IDIR)/include/bpfvm/
	$(INSTALL) -m 644 $(BUILD)/libbpfvm.a $(IDIR)/lib/
	$(INSTALL) -m 755 $(BUILD)/libbpfvm.so $(IDIR)/lib/libbpfvm.so.$(BPFVM_VERSION)
	ln -sf libbpfvm.so.$(BPFVM_VERSION) $(IDIR)/lib/libbpfvm.so.0
	ln -sf libbpfvm.so.0 $(IDIR)/lib/libbpfvm.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(BPFVM_VERSION)|' bpfvm.pc.in \
		> $(IDIR)/lib/pkgconfig/bpfvm.pc
	$(INSTALL) -m 644 docs/bpfvm.1 $(IDIR)/share/man/man1/
	$(if $(wildcard tools/bpfvm.c),$(INSTALL) -m 755 $(BUILD)/bpfvm $(IDIR)/bin/)

TEST_ALL += $(BUILD)/tests/test_install

$(BUILD)/tests/test_install: tests/install.sh
	@mkdir -p $(@D)
	sed -e 's|@ROOT@|$(CURDIR)|g' -e 's|@BUILD@|$(BUILD)|g' -e 's|@CC@|$(CC)|g' \
		-e 's|@HOSTFLAGS@|$(EXTRA_CFLAGS) $(LDFLAGS)|g' $< > $@
	chmod +x $@
