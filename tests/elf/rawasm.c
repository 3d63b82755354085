/* A program section written in assembly, without function symbols: the
 * whole section is the program, and a call the assembler resolved lands
 * inside it. */
__asm__(".section rawprog,\"ax\",@progbits\n"
        "  r1 = 20\n"
        "  call sub\n"
        "  r0 += 1\n"
        "  exit\n"
        "sub:\n"
        "  r0 = r1\n"
        "  r0 *= 2\n"
        "  exit\n");
