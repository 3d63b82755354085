# args: tests/debug/loop.s
# a program without source lines: instructions, registers, memory, watches
step
break 4
break 1000
break nosuch
run
info registers
print r1
print r11
print 12zz
x/2xg r10-8
x/4xw r10-8
x/0xb r10
x/2q r10
stepi
nexti
set r1 = 1
set r10 = 1
set r12 = 1
set r1 1
watch r10-8
delete 4
delete 4
continue
x/1dg r10-8
bt
disas
continue
run
quit
