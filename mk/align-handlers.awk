# align-handlers.awk FILE.s FILE.s > OUT.s: the assembly of interp.c with
# `.p2align 6` before each label listed in the handler table
# (bpfvm__interp_labels: one `.quad LABEL` per handler). The file is read
# twice: the first pass collects the labels, the second copies it.
NR == FNR {
    if ($1 == "bpfvm__interp_labels:") { table = 1; next }
    if (table && $1 == ".quad") { handler[$2 ":"] = 1; next }
    table = 0
    next
}
$1 in handler { print "\t.p2align 6" }
{ print }
