# args: --mem-hex "0100000000000000 0200000000000000" @BUILD@/elf/calls-g.o
# local calls with source lines: function and file:line breakpoints,
# stepping by line, finish, frames, source listing
break calc_gcd
break calc.h:34
break nosuch.c:3
break calc.h:9999
break 1
info breakpoints
run
x/16xb r6
x/2dg r6
x/1xg r6+16
x/1xg r6+12
delete 1
continue
bt
list
disas
next
next
step
finish
bt
delete
break twice_gcd12
continue
step
step
bt
finish
continue
quit
