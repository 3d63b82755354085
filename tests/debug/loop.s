; sum 5 + 4 + 3 + 2 + 1, storing each partial sum on the stack:
; 2 + 5 * 4 + 1 = 23 instructions executed, r0 = 15
mov r0, 0
mov r1, 5
loop:
add r0, r1
stxdw [r10-8], r0
sub r1, 1
jne r1, 0, loop
exit
