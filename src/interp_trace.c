/* interp_trace.c - the interpreter for traced runs: interp.c compiled again
 * with BPFVM_INTERP_TRACED (see there), so that instruction semantics live
 * in one place and the normal interpreter carries no trace code. */
#define BPFVM_INTERP_TRACED
#include "interp.c"
