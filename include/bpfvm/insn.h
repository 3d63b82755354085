/* bpfvm/insn.h - the eBPF instruction encoding (RFC 9669) and instruction builders.
 *
 * Every instruction is one 64-bit slot, little-endian on the wire:
 *
 *    63                32 31           16 15   12 11    8 7             0
 *   +--------------------+---------------+-------+-------+---------------+
 *   |        imm         |      off      |  src  |  dst  |    opcode     |
 *   +--------------------+---------------+-------+-------+---------------+
 *         32 bits             16 bits     4 bits  4 bits      8 bits
 *
 * The opcode byte splits by class (low 3 bits):
 *   ALU / ALU64 / JMP / JMP32:   | op (4) | source (1) | class (3) |
 *   LD / LDX / ST / STX:         | mode (3) | size (2) | class (3) |
 *
 * `lddw` (opcode 0x18) is the one wide instruction: it takes two slots, the
 * second holding the upper 32 bits of the 64-bit immediate in its `imm` field
 * (all other fields of the second slot are zero).
 *
 * The builders below return `struct bpfvm_insn` values (C99 compound literals),
 * so a program is written as an array initialiser:
 *
 *   struct bpfvm_insn prog[] = {
 *       BPFVM_MOV64_IMM(BPFVM_R0, 42),
 *       BPFVM_EXIT(),
 *   };
 */
#ifndef BPFVM_INSN_H
#define BPFVM_INSN_H

#include <stdint.h>

struct bpfvm_insn {
    uint8_t opcode;
    uint8_t dst : 4; /* destination register */
    uint8_t src : 4; /* source register */
    int16_t off;     /* signed offset */
    int32_t imm;     /* signed immediate */
};
typedef struct bpfvm_insn bpfvm_insn;

/* Registers. r10 is the read-only frame pointer. */
enum {
    BPFVM_R0, BPFVM_R1, BPFVM_R2, BPFVM_R3, BPFVM_R4, BPFVM_R5,
    BPFVM_R6, BPFVM_R7, BPFVM_R8, BPFVM_R9, BPFVM_R10
};

/* Instruction classes (opcode & 0x07). */
#define BPFVM_CLASS(op)   ((op) & 0x07)
#define BPFVM_LD          0x00
#define BPFVM_LDX         0x01
#define BPFVM_ST          0x02
#define BPFVM_STX         0x03
#define BPFVM_ALU         0x04 /* 32-bit arithmetic */
#define BPFVM_JMP         0x05 /* 64-bit comparisons */
#define BPFVM_JMP32       0x06 /* 32-bit comparisons */
#define BPFVM_ALU64       0x07

/* Source operand for ALU and JMP classes (opcode & 0x08). */
#define BPFVM_SRC(op)     ((op) & 0x08)
#define BPFVM_K           0x00 /* use imm */
#define BPFVM_X           0x08 /* use src register */

/* ALU operations (opcode & 0xf0). */
#define BPFVM_OP(op)      ((op) & 0xf0)
#define BPFVM_ADD         0x00
#define BPFVM_SUB         0x10
#define BPFVM_MUL         0x20
#define BPFVM_DIV         0x30 /* off = 1: signed (sdiv) */
#define BPFVM_OR          0x40
#define BPFVM_AND         0x50
#define BPFVM_LSH         0x60
#define BPFVM_RSH         0x70
#define BPFVM_NEG         0x80
#define BPFVM_MOD         0x90 /* off = 1: signed (smod) */
#define BPFVM_XOR         0xa0
#define BPFVM_MOV         0xb0 /* off = 8, 16, 32: sign-extending (movsx) */
#define BPFVM_ARSH        0xc0
#define BPFVM_END         0xd0 /* byte swap; imm = 16, 32 or 64 */

/* Byte-swap direction (the source bit of BPFVM_END). */
#define BPFVM_TO_LE       0x00 /* ALU class: to little-endian; ALU64 class: bswap */
#define BPFVM_TO_BE       0x08

/* Jump operations (opcode & 0xf0). */
#define BPFVM_JA          0x00 /* JMP32 class: ja32, offset in imm */
#define BPFVM_JEQ         0x10
#define BPFVM_JGT         0x20
#define BPFVM_JGE         0x30
#define BPFVM_JSET        0x40
#define BPFVM_JNE         0x50
#define BPFVM_JSGT        0x60
#define BPFVM_JSGE        0x70
#define BPFVM_CALL        0x80 /* src 0: helper id in imm; src 1: local call, imm = pc offset */
#define BPFVM_EXIT_OP     0x90
#define BPFVM_JLT         0xa0
#define BPFVM_JLE         0xb0
#define BPFVM_JSLT        0xc0
#define BPFVM_JSLE        0xd0

/* Memory sizes (opcode & 0x18). */
#define BPFVM_SIZE(op)    ((op) & 0x18)
#define BPFVM_W           0x00 /* 4 bytes */
#define BPFVM_H           0x08 /* 2 bytes */
#define BPFVM_B           0x10 /* 1 byte */
#define BPFVM_DW          0x18 /* 8 bytes */

/* Memory modes (opcode & 0xe0). */
#define BPFVM_MODE(op)    ((op) & 0xe0)
#define BPFVM_IMM         0x00 /* lddw */
#define BPFVM_ABS         0x20 /* legacy packet load, absolute */
#define BPFVM_IND         0x40 /* legacy packet load, indirect */
#define BPFVM_MEM         0x60
#define BPFVM_MEMSX       0x80 /* sign-extending load */
#define BPFVM_ATOMIC      0xc0

/* Atomic operations (imm of a BPFVM_ATOMIC store). */
#define BPFVM_FETCH       0x01 /* flag: return the old value in src */
#define BPFVM_XCHG        (0xe0 | BPFVM_FETCH)
#define BPFVM_CMPXCHG     (0xf0 | BPFVM_FETCH)

/* Pseudo source registers. */
#define BPFVM_PSEUDO_CALL 1 /* call src: local BPF-to-BPF call */
#define BPFVM_PSEUDO_FUNC 4 /* lddw src: rX = the function at slot imm + 1 from
                             * here, a callback for bpf_loop / bpf_for_each_map_elem */

#define BPFVM_INSN(op, d, s, o, i) \
    ((struct bpfvm_insn){ .opcode = (uint8_t)(op), .dst = (uint8_t)((d) & 0xf), \
                          .src = (uint8_t)((s) & 0xf), .off = (int16_t)(o), .imm = (int32_t)(i) })

/* ALU: dst = dst OP imm / src. */
#define BPFVM_ALU64_IMM(op, d, i)    BPFVM_INSN(BPFVM_ALU64 | BPFVM_K | (op), d, 0, 0, i)
#define BPFVM_ALU64_REG(op, d, s)    BPFVM_INSN(BPFVM_ALU64 | BPFVM_X | (op), d, s, 0, 0)
#define BPFVM_ALU32_IMM(op, d, i)    BPFVM_INSN(BPFVM_ALU | BPFVM_K | (op), d, 0, 0, i)
#define BPFVM_ALU32_REG(op, d, s)    BPFVM_INSN(BPFVM_ALU | BPFVM_X | (op), d, s, 0, 0)
#define BPFVM_MOV64_IMM(d, i)        BPFVM_ALU64_IMM(BPFVM_MOV, d, i)
#define BPFVM_MOV64_REG(d, s)        BPFVM_ALU64_REG(BPFVM_MOV, d, s)
#define BPFVM_MOV32_IMM(d, i)        BPFVM_ALU32_IMM(BPFVM_MOV, d, i)
#define BPFVM_MOV32_REG(d, s)        BPFVM_ALU32_REG(BPFVM_MOV, d, s)
#define BPFVM_MOVSX64_REG(d, s, bits) BPFVM_INSN(BPFVM_ALU64 | BPFVM_X | BPFVM_MOV, d, s, bits, 0)
#define BPFVM_MOVSX32_REG(d, s, bits) BPFVM_INSN(BPFVM_ALU | BPFVM_X | BPFVM_MOV, d, s, bits, 0)
#define BPFVM_SDIV64_REG(d, s)       BPFVM_INSN(BPFVM_ALU64 | BPFVM_X | BPFVM_DIV, d, s, 1, 0)
#define BPFVM_SMOD64_REG(d, s)       BPFVM_INSN(BPFVM_ALU64 | BPFVM_X | BPFVM_MOD, d, s, 1, 0)
#define BPFVM_NEG64(d)               BPFVM_INSN(BPFVM_ALU64 | BPFVM_NEG, d, 0, 0, 0)
#define BPFVM_NEG32(d)               BPFVM_INSN(BPFVM_ALU | BPFVM_NEG, d, 0, 0, 0)
#define BPFVM_ENDIAN_LE(d, bits)     BPFVM_INSN(BPFVM_ALU | BPFVM_END | BPFVM_TO_LE, d, 0, 0, bits)
#define BPFVM_ENDIAN_BE(d, bits)     BPFVM_INSN(BPFVM_ALU | BPFVM_END | BPFVM_TO_BE, d, 0, 0, bits)
#define BPFVM_BSWAP(d, bits)         BPFVM_INSN(BPFVM_ALU64 | BPFVM_END, d, 0, 0, bits)

/* Memory: size is BPFVM_B, BPFVM_H, BPFVM_W or BPFVM_DW. */
#define BPFVM_LDX_MEM(sz, d, s, o)   BPFVM_INSN(BPFVM_LDX | BPFVM_MEM | (sz), d, s, o, 0)
#define BPFVM_LDX_MEMSX(sz, d, s, o) BPFVM_INSN(BPFVM_LDX | BPFVM_MEMSX | (sz), d, s, o, 0)
#define BPFVM_ST_MEM(sz, d, o, i)    BPFVM_INSN(BPFVM_ST | BPFVM_MEM | (sz), d, 0, o, i)
#define BPFVM_STX_MEM(sz, d, s, o)   BPFVM_INSN(BPFVM_STX | BPFVM_MEM | (sz), d, s, o, 0)
/* Atomic: sz is BPFVM_W or BPFVM_DW; aop is BPFVM_ADD, BPFVM_OR, BPFVM_AND, BPFVM_XOR
 * (optionally | BPFVM_FETCH), BPFVM_XCHG or BPFVM_CMPXCHG. */
#define BPFVM_ATOMIC_OP(sz, aop, d, s, o) BPFVM_INSN(BPFVM_STX | BPFVM_ATOMIC | (sz), d, s, o, aop)
#define BPFVM_LD_ABS(sz, i)          BPFVM_INSN(BPFVM_LD | BPFVM_ABS | (sz), 0, 0, 0, i)
#define BPFVM_LD_IND(sz, s, i)       BPFVM_INSN(BPFVM_LD | BPFVM_IND | (sz), 0, s, 0, i)
/* lddw: expands to two slots, so use it inside an array initialiser. */
#define BPFVM_LD_IMM64(d, i64) \
    BPFVM_INSN(BPFVM_LD | BPFVM_IMM | BPFVM_DW, d, 0, 0, (uint32_t)(uint64_t)(i64)), \
    BPFVM_INSN(0, 0, 0, 0, (uint32_t)((uint64_t)(i64) >> 32))

/* Jumps: off counts slots from the next instruction. */
#define BPFVM_JMP_IMM(op, d, i, o)   BPFVM_INSN(BPFVM_JMP | BPFVM_K | (op), d, 0, o, i)
#define BPFVM_JMP_REG(op, d, s, o)   BPFVM_INSN(BPFVM_JMP | BPFVM_X | (op), d, s, o, 0)
#define BPFVM_JMP32_IMM(op, d, i, o) BPFVM_INSN(BPFVM_JMP32 | BPFVM_K | (op), d, 0, o, i)
#define BPFVM_JMP32_REG(op, d, s, o) BPFVM_INSN(BPFVM_JMP32 | BPFVM_X | (op), d, s, o, 0)
#define BPFVM_JA_OFF(o)              BPFVM_INSN(BPFVM_JMP | BPFVM_JA, 0, 0, o, 0)
#define BPFVM_JA32(i)                BPFVM_INSN(BPFVM_JMP32 | BPFVM_JA, 0, 0, 0, i)
#define BPFVM_CALL_HELPER(id)        BPFVM_INSN(BPFVM_JMP | BPFVM_CALL, 0, 0, 0, id)
/* rX = the function `rel` slots after the next (two slots: use in an array initialiser) */
#define BPFVM_LD_FUNC(d, rel) \
    BPFVM_INSN(BPFVM_LD | BPFVM_IMM | BPFVM_DW, d, BPFVM_PSEUDO_FUNC, 0, rel), BPFVM_INSN(0, 0, 0, 0, 0)
#define BPFVM_CALL_LOCAL(rel)        BPFVM_INSN(BPFVM_JMP | BPFVM_CALL, 0, BPFVM_PSEUDO_CALL, 0, rel)
#define BPFVM_CALLX(d)               BPFVM_INSN(BPFVM_JMP | BPFVM_X | BPFVM_CALL, d, 0, 0, 0)
#define BPFVM_EXIT()                 BPFVM_INSN(BPFVM_JMP | BPFVM_EXIT_OP, 0, 0, 0, 0)

#endif /* BPFVM_INSN_H */
