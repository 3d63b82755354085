# Maps of maps, BPF_F_LOCK and per-element value checks (tests/test_mapinmap.c),
# with the objects of tests/maps/mim_*.bpf.c (built by maps.mk's rule).
MIM_TEST_OBJ = $(patsubst tests/maps/%.bpf.c,$(BUILD)/maps/%.bpf.o,\
                 $(wildcard tests/maps/mim_*.bpf.c))
ifeq ($(HAVE_BPF_CC),yes)
$(BUILD)/tests/test_mapinmap: $(MIM_TEST_OBJ) $(BUILD)/maps/tailinit.bpf.o
endif
