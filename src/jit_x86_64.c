/* jit_x86_64.c - the x86-64 backend of the JIT: instruction emitters and the
 * translation of every eBPF instruction.
 *
 * Register map (System V AMD64 ABI):
 *
 *   eBPF  x86   why
 *   r0    rax   return value: helper results arrive here
 *   r1    rsi   r1..r5 sit in the 2nd..6th argument registers, so a helper
 *   r2    rdx   call fn(ctx, r1, r2, r3, r4, r5) only has to load rdi = ctx
 *   r3    rcx   (also the shift-count register cl)
 *   r4    r8
 *   r5    r9
 *   r6    rbx   r6..r9 live in callee-saved registers: helper calls keep them
 *   r7    r14
 *   r8    r15
 *   r9    r12   (as a base register r12 needs a SIB byte: the least used one)
 *   r10   rbp   top of the current stack frame
 *   -     r13   the run state (bpfvm__jit_state *)
 *   -     r10   minus the start of the input memory, for the memory check
 *                (reloaded after every call into C)
 *   -     rdi, r11  scratch
 *
 * Layout of the code:
 *
 *   entry      prologue, normal return, epilogue, the error exits and the
 *              slow-path memory check (code that never moves)
 *   body       one piece of code per eBPF slot, in order; every exit is a
 *              `ret` because the prologue enters the body with a call and
 *              local calls are native calls
 *   stubs      out-of-line code for the rare paths (other memory regions and
 *              the slow check, budget and call-depth errors)
 * Everything after the entry refers to code through fixups (emit_ref), so
 * shorten() can turn jumps between slots into their rel8 form afterwards.
 *
 * Inside the body rsp is 16-byte aligned, so C functions are called directly.
 * A memory access in checked mode costs one lea, one compare and one
 * predictable branch on its fast path when it goes to the input memory (lea,
 * sub, compare, branch for the stack frame); accesses through r10 with a
 * constant offset inside the frame cost nothing, and a store to the bytes a
 * load of the same block just checked costs nothing either.
 *
 * and/or/xor + jeq/jne 0 use the flags of the ALU operation. emit_fused
 * translates clang's common shapes as fewer instructions: address arithmetic
 * as lea (and, unchecked, the load after it with base + index * scale),
 * load + ALU + store to the same bytes as one read-modify-write, mov + and +
 * jeq 0 as test, mul 3/5/9 (+ add) as lea, jcc +1 over a backward ja as one
 * jcc, and a jump to a short loop test as a copy of the test. A temporary a
 * shape leaves out must be dead afterwards (dead_after, a bounded search).
 */
#if defined(__x86_64__)
#include <string.h>

#include "jit.h"

/* ---- registers, condition codes ---------------------------------------- */

enum {
    RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7,
    R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15
};
#define STATE R13

static const uint8_t reg_map[11] = { RAX, RSI, RDX, RCX, R8, R9, RBX, R14, R15, R12, RBP };

enum {
    CC_B = 0x2, CC_AE = 0x3, CC_E = 0x4, CC_NE = 0x5, CC_BE = 0x6, CC_A = 0x7,
    CC_L = 0xc, CC_GE = 0xd, CC_LE = 0xe, CC_G = 0xf
};

#define ST_OFF(field) ((int32_t)offsetof(bpfvm__jit_state, field))
#define CTX_OFF(field) (ST_OFF(ctx) + (int32_t)offsetof(bpfvm_ctx, field))

/* ---- the emit layer ---------------------------------------------------- */

static bool is_imm8(int64_t v) { return v >= -128 && v <= 127; }
static bool is_imm32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* Each write makes room for itself (bpfvm__jit_room); when that fails the
 * driver's sticky error redirects the output to a scratch area. */
static void emit1(bpfvm__jit *j, unsigned b)
{
    bpfvm__jit_room(j, 1);
    j->buf[j->len++] = (uint8_t)b;
}

static void emit2(bpfvm__jit *j, unsigned v)
{
    emit1(j, v & 0xff);
    emit1(j, (v >> 8) & 0xff);
}

static void emit4(bpfvm__jit *j, uint32_t v)
{
    bpfvm__jit_room(j, 4);
    uint8_t *p = j->buf + j->len;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    j->len += 4;
}

static void emit8(bpfvm__jit *j, uint64_t v)
{
    emit4(j, (uint32_t)v);
    emit4(j, (uint32_t)(v >> 32));
}

/* Current code offset. */
static uint32_t here(const bpfvm__jit *j) { return (uint32_t)j->len; }

/* Operand-size and prefix flags of one instruction. */
enum {
    W = 1,      /* REX.W: 64-bit operation */
    P16 = 2,    /* 0x66: 16-bit operation */
    BYTE = 4,   /* byte register operand: always emit a REX (sil/dil, not dh/bh) */
    LOCK = 8    /* 0xf0 lock prefix */
};

/* Prefixes; `index` is the SIB index register (0 if none). */
static void emit_prefix_sib(bpfvm__jit *j, unsigned f, int reg, int index, int rm)
{
    unsigned rex = 0x40 | ((f & W) ? 8u : 0u) | ((reg & 8) ? 4u : 0u) | ((index & 8) ? 2u : 0u) |
                   ((rm & 8) ? 1u : 0u);
    if (f & LOCK)
        emit1(j, 0xf0);
    if (f & P16)
        emit1(j, 0x66);
    if (rex != 0x40 || (f & BYTE))
        emit1(j, rex);
}

static void emit_prefix(bpfvm__jit *j, unsigned f, int reg, int rm)
{
    emit_prefix_sib(j, f, reg, 0, rm);
}

/* Opcodes above 0xff are two bytes (0x0f xx). */
static void emit_opcode(bpfvm__jit *j, unsigned op)
{
    if (op > 0xff)
        emit1(j, op >> 8);
    emit1(j, op & 0xff);
}

/* op reg, rm      (both registers; ModRM mod = 11) */
static void emit_rr(bpfvm__jit *j, unsigned f, unsigned op, int reg, int rm)
{
    emit_prefix(j, f, reg, rm);
    emit_opcode(j, op);
    emit1(j, 0xc0u | (unsigned)(reg & 7) << 3 | (unsigned)(rm & 7));
}

/* op reg, [base + index * 2^scale + disp]   (index < 0: none; rsp/r12 bases
 * need a SIB byte, rbp/r13 a displacement) */
static void emit_mem(bpfvm__jit *j, unsigned f, unsigned op, int reg, int base, int index,
                     unsigned scale, int32_t disp)
{
    unsigned mod = (disp == 0 && (base & 7) != RBP) ? 0u : is_imm8(disp) ? 1u : 2u;
    emit_prefix_sib(j, f, reg, index < 0 ? 0 : index, base);
    emit_opcode(j, op);
    if (index < 0) {
        emit1(j, mod << 6 | (unsigned)(reg & 7) << 3 | (unsigned)(base & 7));
        if ((base & 7) == RSP)
            emit1(j, 0x24);
    } else {
        emit1(j, mod << 6 | (unsigned)(reg & 7) << 3 | 4u);
        emit1(j, scale << 6 | (unsigned)(index & 7) << 3 | (unsigned)(base & 7));
    }
    if (mod == 1)
        emit1(j, (uint8_t)disp);
    else if (mod == 2)
        emit4(j, (uint32_t)disp);
}

/* op reg, [base + disp] */
static void emit_rm(bpfvm__jit *j, unsigned f, unsigned op, int reg, int base, int32_t disp)
{
    emit_mem(j, f, op, reg, base, -1, 0, disp);
}

/* lea dst, [base + index + disp] */
static void emit_lea_index(bpfvm__jit *j, int dst, int base, int index, int32_t disp)
{
    emit_mem(j, W, 0x8d, dst, base, index, 0, disp);
}

/* mov dst, src */
static void emit_mov(bpfvm__jit *j, unsigned f, int dst, int src)
{
    emit_rr(j, f, 0x89, src, dst);
}

/* mov dst, imm   (shortest form for the value) */
static void emit_mov_imm(bpfvm__jit *j, int dst, uint64_t imm)
{
    if (imm == 0) {
        emit_rr(j, 0, 0x31, dst, dst);                 /* xor dst32, dst32 */
    } else if (imm <= UINT32_MAX) {
        emit_prefix(j, 0, 0, dst);                     /* mov dst32, imm32 */
        emit1(j, 0xb8u + (unsigned)(dst & 7));
        emit4(j, (uint32_t)imm);
    } else if (is_imm32((int64_t)imm)) {
        emit_rr(j, W, 0xc7, 0, dst);                   /* mov dst, simm32 */
        emit4(j, (uint32_t)imm);
    } else {
        emit_prefix(j, W, 0, dst);                     /* movabs dst, imm64 */
        emit1(j, 0xb8u + (unsigned)(dst & 7));
        emit8(j, imm);
    }
}

/* <alu> dst, imm   (ext = ModRM.reg opcode extension: add 0, or 1, and 4, sub 5, xor 6, cmp 7) */
static void emit_alu_imm(bpfvm__jit *j, unsigned f, unsigned ext, int dst, int32_t imm)
{
    if (is_imm8(imm)) {
        emit_rr(j, f, 0x83, (int)ext, dst);           /* op dst, simm8 */
        emit1(j, (uint8_t)imm);
    } else {
        emit_rr(j, f, 0x81, (int)ext, dst);           /* op dst, imm32 */
        emit4(j, (uint32_t)imm);
    }
}

/* <alu> qword [base + disp], imm */
static void emit_alu_mem_imm(bpfvm__jit *j, unsigned ext, int base, int32_t disp, int32_t imm)
{
    if (is_imm8(imm)) {
        emit_rm(j, W, 0x83, (int)ext, base, disp);
        emit1(j, (uint8_t)imm);
    } else {
        emit_rm(j, W, 0x81, (int)ext, base, disp);
        emit4(j, (uint32_t)imm);
    }
}

/* reg = imm, sign-extended (w) or zero-extended, through a blinded pair:
 *   mov reg, imm ^ key; xor reg, key */
static void emit_blinded(bpfvm__jit *j, unsigned w, int reg, int32_t imm)
{
    uint32_t key = bpfvm__jit_blind_key(j);
    emit_rr(j, w, 0xc7, 0, reg);                       /* mov reg, imm ^ key */
    emit4(j, (uint32_t)imm ^ key);
    emit_alu_imm(j, w, 6, reg, (int32_t)key);          /* xor reg, key */
}

/* push reg / pop reg */
static void emit_push(bpfvm__jit *j, int reg)
{
    emit_prefix(j, 0, 0, reg);
    emit1(j, 0x50u + (unsigned)(reg & 7));
}

static void emit_pop(bpfvm__jit *j, int reg)
{
    emit_prefix(j, 0, 0, reg);
    emit1(j, 0x58u + (unsigned)(reg & 7));
}

/* call abs: mov rax, imm64; call rax */
static void emit_call_abs(bpfvm__jit *j, uint64_t fn)
{
    emit_mov_imm(j, RAX, fn);
    emit_rr(j, 0, 0xff, 2, RAX);
}

/* A rel32 (or, for FIX_SLOT_JUMP after shortening, rel8) displacement to a
 * slot, a stub or a code offset, filled in once every offset is known:
 * four bytes of zero now, recorded as a fixup. Everything after the common
 * code refers to code only through fixups, so shortening can move it. */
static void emit_ref(bpfvm__jit *j, int kind, size_t index)
{
    emit4(j, 0);
    bpfvm__jit_add_fixup(j, here(j), index, kind, 4);
}

/* jcc rel32 / jmp rel32 / call rel32 through a fixup */
static void emit_jcc_ref(bpfvm__jit *j, int cc, int kind, size_t index)
{
    emit1(j, 0x0f);
    emit1(j, 0x80u + (unsigned)cc);
    emit_ref(j, kind, index);
}

static void emit_jmp_ref(bpfvm__jit *j, int kind, size_t index)
{
    emit1(j, 0xe9);
    emit_ref(j, kind, index);
}

static void emit_call_ref(bpfvm__jit *j, int kind, size_t index)
{
    emit1(j, 0xe8);
    emit_ref(j, kind, index);
}

/* jcc / jmp to an offset already emitted, inside the common code (which
 * never moves) or inside the same slot: short when it fits. */
static void emit_jcc_back(bpfvm__jit *j, int cc, uint32_t target)
{
    int64_t d = (int64_t)target - (int64_t)(here(j) + 2);
    if (is_imm8(d)) {
        emit1(j, 0x70u + (unsigned)cc);                /* jcc rel8 */
        emit1(j, (uint8_t)d);
    } else {
        emit1(j, 0x0f);                                /* jcc rel32 */
        emit1(j, 0x80u + (unsigned)cc);
        emit4(j, target - (here(j) + 4));
    }
}

static void emit_jmp_back(bpfvm__jit *j, uint32_t target)
{
    int64_t d = (int64_t)target - (int64_t)(here(j) + 2);
    if (is_imm8(d)) {
        emit1(j, 0xeb);                                /* jmp rel8 */
        emit1(j, (uint8_t)d);
    } else {
        emit1(j, 0xe9);                                /* jmp rel32 */
        emit4(j, target - (here(j) + 4));
    }
}

/* A short forward jump inside one instruction's code: emit it with a
 * placeholder, then patch it once the target is reached. cc < 0: jmp. */
static uint32_t emit_jfwd8(bpfvm__jit *j, int cc)
{
    emit1(j, cc < 0 ? 0xebu : 0x70u + (unsigned)cc);
    emit1(j, 0);
    return here(j);
}

static void patch_jfwd8(bpfvm__jit *j, uint32_t after)
{
    uint32_t d = here(j) - after;
    if (d > 127) {
        j->err = BPFVM_EJIT;
        return;
    }
    j->buf[after - 1] = (uint8_t)d;
}

/* ---- common code at the start ------------------------------------------ */

/* Offsets of the common routines, exact in every pass (emitted first). */
typedef struct labels {
    uint32_t ret_normal, epilogue, exit_zero, raise_budget, raise_calldepth, raise_badcode,
        fault_exit, check_slow, body;
} labels;

/* The callee-saved registers the entry saves, in push order: rbp (r10) and
 * r13 (the state) always, rbx, r12, r14, r15 only for the r6..r9 the program
 * names (bit n of used = rn), and a spare one when needed to keep the count
 * even (the body runs with rsp 16-byte aligned). Returns how many. */
static int saved_at_entry(unsigned used, int saved[6])
{
    static const int callee_saved[6] = { RBX, RBP, R12, R13, R14, R15 };
    static const int bpf_reg[6] = { 6, -1, 9, -1, 7, 8 }; /* -1: always saved */
    int n = 0, spare = -1;
    for (int k = 0; k < 6; k++) {
        if (bpf_reg[k] < 0 || (used & (1u << bpf_reg[k])))
            saved[n++] = callee_saved[k];
        else
            spare = callee_saved[k];
    }
    if (n % 2)
        saved[n++] = spare;
    return n;
}

/* The start of an entry, int fn(bpfvm__jit_state *rdi, r1 rsi, r2 rdx,
 * r10 rcx) (rsi and rdx left alone): the registers saved_at_entry picks for
 * `used` (into saved, returns how many), the state, r10, the input memory's
 * base, and 0 in the eBPF registers of `zero` the program names. */
static int emit_enter(bpfvm__jit *j, unsigned used, unsigned zero, int saved[6])
{
    int nsaved = saved_at_entry(used, saved);
    for (int k = 0; k < nsaved; k++)
        emit_push(j, saved[k]);                        /* push rbx .. r15 (those saved) */
    emit_mov(j, W, STATE, RDI);                        /* mov r13, rdi */
    emit_rm(j, W, 0x89, RSP, STATE, ST_OFF(saved_sp)); /* mov [r13+saved_sp], rsp */
    emit_mov(j, W, RBP, RCX);                          /* mov rbp, rcx */
    if (j->uses & BPFVM__JIT_USES_MEM)
        emit_rm(j, W, 0x8b, R10, STATE, ST_OFF(mem_neg)); /* mov r10, [r13+mem_neg] */
    for (int n = 0; n <= 9; n++)
        if (used & zero & (1u << n))
            emit_mov_imm(j, reg_map[n], 0);            /* xor reg32, reg32 */
    return nsaved;
}

static void emit_callback_entry(bpfvm__jit *j, const labels *l, unsigned used);

static void emit_common(bpfvm__jit *j, labels *l)
{
    unsigned used = bpfvm__jit_regs_used(j);
    int saved_regs[6];
    /* the run's entry: r1 and r2 arrive in place, r0 and r3..r9 are zeroed */
    int nsaved = emit_enter(j, used, 0x3f9u, saved_regs);
    emit_call_ref(j, BPFVM__FIX_SLOT, 0);              /* call body */

    l->ret_normal = here(j);
    emit_rm(j, W, 0x89, RAX, STATE, ST_OFF(r0));       /* mov [r13+r0], rax */
    emit_mov_imm(j, RAX, 0);                           /* xor eax, eax */
    l->epilogue = here(j);
    for (int k = nsaved - 1; k >= 0; k--)
        emit_pop(j, saved_regs[k]);                    /* pop r15 .. rbx (those saved) */
    emit1(j, 0xc3);                                    /* ret */

    /* legacy packet load out of bounds: the program ends with r0 = 0 */
    l->exit_zero = here(j);
    emit_mov_imm(j, RAX, 0);                           /* xor eax, eax */
    emit_rm(j, W, 0x8b, RSP, STATE, ST_OFF(saved_sp)); /* mov rsp, [r13+saved_sp] */
    emit_jmp_back(j, l->ret_normal);                   /* jmp ret_normal */

    /* raise_*: esi = instruction index */
    l->raise_budget = here(j);
    emit_mov_imm(j, RDX, BPFVM__RAISE_BUDGET);         /* mov edx, kind */
    uint32_t p1 = emit_jfwd8(j, -1);                   /* jmp raise */
    l->raise_calldepth = here(j);
    emit_mov_imm(j, RDX, BPFVM__RAISE_CALLDEPTH);
    uint32_t p2 = emit_jfwd8(j, -1);
    l->raise_badcode = here(j);
    emit_mov_imm(j, RDX, BPFVM__RAISE_BADCODE);
    patch_jfwd8(j, p1);
    patch_jfwd8(j, p2);
    emit_rm(j, W, 0x8b, RSP, STATE, ST_OFF(saved_sp)); /* raise: mov rsp, [r13+saved_sp] */
    emit_alu_imm(j, W, 5, RSP, 8);                     /* sub rsp, 8 */
    emit_mov(j, W, RDI, STATE);                        /* mov rdi, r13 */
    emit_call_abs(j, j->rt_raise);                     /* call rt_raise(state, insn, kind) */

    /* an error was recorded: unwind to the entry and return 1 */
    l->fault_exit = here(j);
    emit_rm(j, W, 0x8b, RSP, STATE, ST_OFF(saved_sp)); /* mov rsp, [r13+saved_sp] */
    emit_mov_imm(j, RAX, 1);                           /* mov eax, 1 */
    emit_jmp_back(j, l->epilogue);                     /* jmp epilogue */

    /* check_slow: rdi = address, r11 = rmw << 32 | insn << 6 | read << 5 | write << 4 | size.
     * Called from stubs; keeps every eBPF register. */
    static const int saved[6] = { RAX, RSI, RDX, RCX, R8, R9 };
    l->check_slow = here(j);
    for (int k = 0; k < 6; k++)
        emit_push(j, saved[k]);
    emit_alu_imm(j, W, 5, RSP, 8);                     /* sub rsp, 8 */
    emit_mov(j, W, RSI, RDI);                          /* mov rsi, rdi */
    emit_mov(j, W, RDX, R11);                          /* mov rdx, r11 */
    emit_mov(j, W, RDI, STATE);                        /* mov rdi, r13 */
    emit_call_abs(j, j->rt_access);                    /* call rt_access(state, addr, packed) */
    emit_alu_imm(j, W, 0, RSP, 8);                     /* add rsp, 8 */
    emit_rm(j, W, 0x8b, R10, STATE, ST_OFF(mem_neg));  /* mov r10, [r13+mem_neg] */
    emit_rr(j, 0, 0x85, RAX, RAX);                     /* test eax, eax */
    for (int k = 5; k >= 0; k--)
        emit_pop(j, saved[k]);
    emit_jcc_back(j, CC_E, l->fault_exit);             /* jz fault_exit */
    emit1(j, 0xc3);                                    /* ret */
    emit_callback_entry(j, l, used);
}

/* The entry for callbacks (programs with callbacks only; bpfvm__jit.cb_entry):
 * the prologue of the run's entry (a bpfvm__jit_fn: r10 the fourth argument)
 * with r1..r5 from state->cb_args, a call to state->cb_code, and the run's
 * normal return. Faults inside unwind to
 * its saved_sp, which bpfvm__jit_callback (jit.c) then puts back. */
static void emit_callback_entry(bpfvm__jit *j, const labels *l, unsigned used)
{
    static const int args[5] = { RSI, RDX, RCX, R8, R9 };
    if (!j->vm->ncallbacks)
        return;
    /* the registers the run's entry saves: both return through its epilogue;
     * r1..r5 come from cb_args, r0 and r6..r9 are zeroed */
    int saved_regs[6];
    j->cb_entry = here(j);
    (void)emit_enter(j, used, 0x3c1u, saved_regs);
    for (int k = 0; k < 5; k++)                        /* mov rsi .. r9, [r13+cb_args+8k] */
        emit_rm(j, W, 0x8b, args[k], STATE, ST_OFF(cb_args) + 8 * k);
    emit_rm(j, 0, 0xff, 2, STATE, ST_OFF(cb_code));    /* call [r13+cb_code] */
    emit_jmp_back(j, l->ret_normal);                   /* jmp ret_normal */
}

/* ---- checks ------------------------------------------------------------ */

static int size_index(unsigned size) { return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3; }

/* Flags "below" iff [x + off, +size) is inside the current frame:
 *   lea r11, [x + off + S]; sub r11, rbp; cmp r11, S - size + 1 */
static void emit_frame_check(bpfvm__jit *j, int x, int32_t off, unsigned size)
{
    int32_t s = (int32_t)j->stack_size;
    emit_rm(j, W, 0x8d, R11, x, off + s);
    emit_rr(j, W, 0x29, RBP, R11);
    emit_alu_imm(j, W, 7, R11, s - (int32_t)size + 1);
}

/* Flags "below" iff [x + off, +size) is inside the input memory:
 *   lea r11, [x + r10 + off]; cmp r11, [r13+mem_lim]   (r10 = -mem_start) */
static void emit_mem_check(bpfvm__jit *j, int x, int32_t off, unsigned size)
{
    emit_lea_index(j, R11, x, R10, off);
    emit_rm(j, W, 0x3b, R11, STATE, ST_OFF(mem_lim) + 8 * size_index(size));
}

/* Checked mode: guard the access [r(breg) + off, +size) of slot i; an
 * atomic (rw 3) must also be aligned to its size. */
static void emit_access_check(bpfvm__jit *j, size_t i, int breg, int16_t off, unsigned size,
                              unsigned rw)
{
    size_t k;
    bool in_frame;
    if (!bpfvm__jit_need_check(j, i, breg, off, size, rw, &k, &in_frame))
        return;
    int x = reg_map[breg];
    if (!in_frame) {
        if (breg == BPFVM_R10 || (j->marks[i] & BPFVM__MARK_STACK))
            emit_frame_check(j, x, off, size);
        else
            emit_mem_check(j, x, off, size);
        emit_jcc_ref(j, CC_AE, BPFVM__FIX_STUB, k);    /* jae stub */
    }
    if (rw == 3) {
        emit_rm(j, W, 0x8d, R11, x, off);              /* lea r11, [x + off] */
        emit_prefix(j, BYTE, 0, R11);                  /* test r11b, size - 1 */
        emit1(j, 0xf6);
        emit1(j, 0xc0 | (R11 & 7));
        emit1(j, size - 1);
        emit_jcc_ref(j, CC_NE, BPFVM__FIX_STUB, k);    /* jne stub */
    }
    if (!j->err)
        j->stubs[k].resume = here(j);
}

/* Budget check at a checkpoint: cmp qword [r13+budget_left], 0; jl stub */
static void emit_budget_check(bpfvm__jit *j, size_t i)
{
    if (!j->metered)
        return;
    bpfvm__jit_stub s = { BPFVM__STUB_BUDGET, 0, 0, 0, 0, (uint32_t)i, 0, 0 };
    size_t k = bpfvm__jit_add_stub(j, &s);
    emit_alu_mem_imm(j, 7, STATE, ST_OFF(budget_left), 0);
    emit_jcc_ref(j, CC_L, BPFVM__FIX_STUB, k);
}

/* ---- instructions ------------------------------------------------------ */

/* jcc/jmp to slot t as the last instruction of slot i's code (cc < 0: jmp);
 * these are the jumps the driver may shorten to rel8 afterwards (kind:
 * BPFVM__FIX_SLOT_JUMP or BPFVM__FIX_COPY_JUMP). */
static void emit_jump_slot(bpfvm__jit *j, int cc, int kind, size_t t)
{
    if (cc < 0)
        emit_jmp_ref(j, kind, t);
    else
        emit_jcc_ref(j, cc, kind, t);
}

static unsigned alu_w(uint8_t code) { return BPFVM_CLASS(code) == BPFVM_ALU64 ? W : 0u; }

/* dst OP= src / imm for add, sub, or, and, xor, mov, mul */
/* The /digit of add, sub, or, and, xor (BPFVM_OP) in x86's first ALU group:
 * `op r/m, imm` is 0x81 /d, `op r/m, r` is d * 8 + 1, `op r, r/m` d * 8 + 3
 * (byte forms one less). */
static unsigned alu_ext(unsigned op)
{
    return op == BPFVM_ADD ? 0u : op == BPFVM_SUB ? 5u : op == BPFVM_AND ? 4u
         : op == BPFVM_OR ? 1u : 6u;
}

static void emit_alu(bpfvm__jit *j, uint8_t code, int dst, int src, int32_t imm)
{
    unsigned f = alu_w(code);
    bool k = BPFVM_SRC(code) == BPFVM_K;
    unsigned rr, ext;
    switch (BPFVM_OP(code)) {
    case BPFVM_ADD: case BPFVM_SUB: case BPFVM_OR: case BPFVM_AND: case BPFVM_XOR:
        ext = alu_ext(BPFVM_OP(code));
        rr = ext * 8 + 1;
        break;
    case BPFVM_MUL:
        if (!k) {
            emit_rr(j, f, 0x0faf, dst, src);           /* imul dst, src */
        } else if (is_imm8(imm)) {
            emit_rr(j, f, 0x6b, dst, dst);             /* imul dst, dst, simm8 */
            emit1(j, (uint8_t)imm);
        } else {
            emit_rr(j, f, 0x69, dst, dst);             /* imul dst, dst, imm32 */
            emit4(j, (uint32_t)imm);
        }
        return;
    default: /* MOV */
        if (!k)
            emit_mov(j, f, dst, src);                  /* mov dst, src (32: zero-extends) */
        else if (f)
            emit_mov_imm(j, dst, (uint64_t)(int64_t)imm);
        else
            emit_mov_imm(j, dst, (uint32_t)imm);
        return;
    }
    if (!k) {
        emit_rr(j, f, rr, src, dst);                   /* op dst, src */
    } else if (imm == 0 && (BPFVM_OP(code) != BPFVM_AND)) {
        if (!f)
            emit_mov(j, 0, dst, dst);                  /* mov dst32, dst32 (x op 0 = x) */
    } else {
        emit_alu_imm(j, f, ext, dst, imm);             /* op dst, imm */
    }
}

/* shifts: ext 4 shl, 5 shr, 7 sar */
static void emit_shift(bpfvm__jit *j, uint8_t code, int dst, int src, int32_t imm)
{
    unsigned f = alu_w(code);
    unsigned ext = BPFVM_OP(code) == BPFVM_LSH ? 4u : BPFVM_OP(code) == BPFVM_RSH ? 5u : 7u;
    if (BPFVM_SRC(code) == BPFVM_K) {
        unsigned n = (unsigned)imm & (f ? 63u : 31u);
        if (n == 0) {
            if (!f)
                emit_mov(j, 0, dst, dst);              /* mov dst32, dst32 */
        } else {
            emit_rr(j, f, 0xc1, (int)ext, dst);        /* shl/shr/sar dst, n */
            emit1(j, n);
        }
        return;
    }
    if (src == RCX) {
        emit_rr(j, f, 0xd3, (int)ext, dst);            /* shl/shr/sar dst, cl */
    } else if (dst == RCX) {
        emit_mov(j, W, R11, RCX);                      /* mov r11, rcx */
        emit_mov(j, 0, RCX, src);                      /* mov ecx, src32 */
        emit_rr(j, f, 0xd3, (int)ext, R11);            /* shl/shr/sar r11, cl */
        emit_mov(j, f, RCX, R11);                      /* mov rcx, r11 */
    } else {
        emit_mov(j, W, R11, RCX);                      /* mov r11, rcx */
        emit_mov(j, 0, RCX, src);                      /* mov ecx, src32 */
        emit_rr(j, f, 0xd3, (int)ext, dst);            /* shl/shr/sar dst, cl */
        emit_mov(j, W, RCX, R11);                      /* mov rcx, r11 */
    }
}

/* Unsigned division or modulo by a constant d >= 1: a shift or a mask for
 * powers of two, else a multiplication by the rounded-up reciprocal
 * (Granlund and Montgomery). 64-bit: n / d = hi64(n * m) >> s with
 * m = ceil(2^(64+s) / d) for the first s where m < 2^64 and
 * m * d - 2^(64+s) <= 2^s (exact for every 64-bit n); when there is none
 * (d = 7, ...), with l = ceil(log2 d) and m = floor(2^64 (2^l - d) / d) + 1,
 * t = hi64(n * m) and n / d = (t + ((n - t) >> 1)) >> (l - 1). 32-bit:
 * see emit_udiv32_const. */
static bool short_magic(uint64_t d, uint64_t *m, unsigned *s)
{
    for (unsigned k = 0; k < 64; k++) {
        unsigned __int128 p = (unsigned __int128)1 << (64 + k), mm = p / d + 1;
        if (mm >> 64)
            return false;
        if (mm * d - p <= (unsigned __int128)1 << k) {
            *m = (uint64_t)mm;
            *s = k;
            return true;
        }
    }
    return false;
}

/* dst = src * v (64-bit), through scratch when v is no 32-bit immediate
 * (scratch may be dst) */
static void emit_imul_imm(bpfvm__jit *j, int dst, int src, uint64_t v, int scratch)
{
    if (v <= INT32_MAX) {
        emit_rr(j, W, 0x69, dst, src);                 /* imul dst, src, v */
        emit4(j, (uint32_t)v);
    } else {
        emit_mov_imm(j, scratch, v);                   /* mov scratch, v */
        emit_rr(j, W, 0x0faf, dst, scratch == dst ? src : scratch); /* imul dst, src/scratch */
    }
}

/* 32-bit unsigned division or modulo by a constant d (not a power of two),
 * in 64-bit scratch registers (no rax/rdx, nothing saved): with
 * l = ceil(log2 d) and k = 31 + l, m = floor(2^k / d) + 1 < 2^32; when
 * m * d - 2^k <= 2^(l-1), n / d = (n * m) >> k for every n < 2^32 (the
 * error n * (m * d - 2^k) / (d * 2^k) stays below 1 / d); else, with
 * m' = floor(2^(32+l) / d) + 1 - 2^32 < 2^32, n / d = (((n * m') >> 32) + n) >> l
 * (Granlund and Montgomery; the sum cannot overflow 64 bits). */
static void emit_udiv32_const(bpfvm__jit *j, bool mod, int dst, uint32_t d)
{
    unsigned l = 32u - (unsigned)__builtin_clz(d - 1), k = 31 + l;
    uint64_t m = ((uint64_t)1 << k) / d + 1;
    bool fixup = m * d - ((uint64_t)1 << k) > ((uint64_t)1 << (l - 1));
    if (fixup)
        m = (uint64_t)(((unsigned __int128)1 << (32 + l)) / d + 1) & UINT32_MAX;
    emit_mov(j, 0, RDI, dst);                          /* mov edi, dst32: n */
    emit_imul_imm(j, R11, RDI, m, R11);                /* r11 = n * m */
    emit_rr(j, W, 0xc1, 5, R11);                       /* shr r11, k / 32 */
    emit1(j, fixup ? 32 : k);
    if (fixup) {
        emit_rr(j, W, 0x01, RDI, R11);                 /* add r11, rdi */
        emit_rr(j, W, 0xc1, 5, R11);                   /* shr r11, l */
        emit1(j, l);
    }
    if (mod) {
        emit_rr(j, 0, 0x69, R11, R11);                 /* imul r11d, r11d, d */
        emit4(j, d);
        emit_rr(j, 0, 0x29, R11, dst);                 /* sub dst32, r11d */
    } else {
        emit_mov(j, 0, dst, R11);                      /* mov dst32, r11d */
    }
}

/* Around a multiplication or division that uses rax (dst, the eBPF
 * destination, is not rax): keep rax in rdi unless the operand n the code
 * needs is there, else on the machine stack. */
static void emit_keep_rax(bpfvm__jit *j, int dst, int n, bool restore)
{
    if (dst == RAX)
        return;
    if (n != RDI)
        emit_mov(j, W, restore ? RAX : RDI, restore ? RDI : RAX); /* mov rdi, rax / rax, rdi */
    else if (restore)
        emit_pop(j, RAX);                              /* pop rax */
    else
        emit_push(j, RAX);                             /* push rax */
}

static void emit_udiv_const(bpfvm__jit *j, unsigned f, bool mod, int dst, uint64_t d)
{
    uint64_t m_short = 0;
    if ((d & (d - 1)) == 0) {                          /* d = 2^k <= 2^31 */
        unsigned k = (unsigned)__builtin_ctzll(d);
        if (mod && k == 0)
            emit_mov_imm(j, dst, 0);                   /* xor dst32, dst32 */
        else if (mod)
            emit_alu_imm(j, f, 4, dst, (int32_t)(d - 1)); /* and dst, d - 1 */
        else if (k) {
            emit_rr(j, f, 0xc1, 5, dst);               /* shr dst, k */
            emit1(j, k);
        } else if (!f)
            emit_mov(j, 0, dst, dst);                  /* mov dst32, dst32 */
        return;
    }
    if (!f) {
        emit_udiv32_const(j, mod, dst, (uint32_t)d);
        return;
    }
    unsigned l = 64u - (unsigned)__builtin_clzll(d - 1), sh = 0;
    bool fixup = !short_magic(d, &m_short, &sh);
    uint64_t m = !fixup ? m_short
                 : (uint64_t)(((((unsigned __int128)1 << l) - d) << 64) / d) + 1;
    int n = dst == RAX || dst == RDX ? RDI : dst;      /* the dividend, kept */

    emit_keep_rax(j, dst, n, false);                   /* mov rdi, rax / push rax */
    if (dst != RDX)
        emit_mov(j, W, R11, RDX);                      /* mov r11, rdx */
    if (n != dst)
        emit_mov(j, W, n, dst);                        /* mov n, dst */
    emit_mov_imm(j, RAX, m);                           /* mov rax, m */
    emit_rr(j, W, 0xf7, 4, n);                         /* mul n: rdx = t */
    if (!fixup) {
        emit_mov(j, W, RAX, RDX);                      /* mov rax, rdx */
        if (sh) {
            emit_rr(j, W, 0xc1, 5, RAX);               /* shr rax, s */
            emit1(j, sh);
        }
    } else {
        emit_mov(j, W, RAX, n);                        /* mov rax, n */
        emit_rr(j, W, 0x29, RDX, RAX);                 /* sub rax, rdx */
        emit_rr(j, W, 0xc1, 5, RAX);                   /* shr rax, 1 */
        emit1(j, 1);
        emit_rr(j, W, 0x01, RDX, RAX);                 /* add rax, rdx */
        emit_rr(j, W, 0xc1, 5, RAX);                   /* shr rax, l - 1 (l >= 2) */
        emit1(j, l - 1);
    }
    if (mod) {
        emit_imul_imm(j, RAX, RAX, d, RDX);            /* rax = q * d */
        emit_rr(j, W, 0x29, RAX, n);                   /* sub n, rax */
        if (n != dst)
            emit_mov(j, W, dst, n);                    /* mov dst, n */
    } else {
        emit_mov(j, W, dst, RAX);                      /* mov dst, rax */
    }
    if (dst != RDX)
        emit_mov(j, W, RDX, R11);                      /* mov rdx, r11 */
    emit_keep_rax(j, dst, n, true);                    /* mov rax, rdi / pop rax */
}

/* Signed division and modulo by a constant d other than 0 and -1, 32 or 64
 * bit. The dividend n is taken sign-extended to 64 bits, which is exact for
 * both widths since |d| <= 2^31 (a 32-bit result is then zero-extended):
 *   d = 1:       n, modulo 0;
 *   |d| = 2^k:   t = n + (n < 0 ? 2^k - 1 : 0) (rounds towards zero),
 *                q = t >> k (arithmetic), n % d = n - (t & -2^k);
 *   otherwise:   with l = ceil(log2 |d|) and m = floor(2^(63+l) / |d|) + 1,
 *                which lies in (2^63, 2^64), q = floor(n * m / 2^(63+l)) + (n < 0),
 *                computed as (n + hi64(n * (m - 2^64))) >> (l - 1) (signed
 *                multiply-high and shift; Granlund and Montgomery's method),
 *                n % d = n - q * d;
 * q negated when d < 0. No branch, no idiv: INT_MIN / -1 cannot occur here. */
static void emit_sdiv_const(bpfvm__jit *j, unsigned f, bool mod, int dst, int32_t d)
{
    uint64_t a = d < 0 ? 0u - (uint64_t)(int64_t)d : (uint64_t)d;
    int n = dst == RAX || dst == RDX ? RDI : dst;      /* the dividend, kept */
    if (a == 1) {
        if (mod)
            emit_mov_imm(j, dst, 0);                   /* xor dst32, dst32 */
        else if (!f)
            emit_mov(j, 0, dst, dst);                  /* mov dst32, dst32 */
        return;
    }
    if (!f)
        emit_rr(j, W, 0x63, n, dst);                   /* movsxd n, dst32 */
    else if (n != dst)
        emit_mov(j, W, n, dst);                        /* mov n, dst */
    if ((a & (a - 1)) == 0) {
        unsigned k = (unsigned)__builtin_ctzll(a);
        int t = n == RDI ? R11 : RDI;
        emit_mov(j, W, t, n);                          /* mov t, n */
        emit_rr(j, W, 0xc1, 7, t);                     /* sar t, 63 */
        emit1(j, 63);
        emit_rr(j, W, 0xc1, 5, t);                     /* shr t, 64 - k */
        emit1(j, 64 - k);
        emit_rr(j, W, 0x01, n, t);                     /* add t, n */
        if (mod) {
            emit_alu_imm(j, W, 4, t, (int32_t)(0u - (uint32_t)a)); /* and t, -2^k */
            emit_rr(j, W, 0x29, t, n);                 /* sub n, t */
            if (n != dst || !f)
                emit_mov(j, f, dst, n);                /* mov dst, n (32: zero-extends) */
            return;
        }
        emit_rr(j, W, 0xc1, 7, t);                     /* sar t, k */
        emit1(j, k);
        if (d < 0)
            emit_rr(j, W, 0xf7, 3, t);                 /* neg t */
        emit_mov(j, f, dst, t);                        /* mov dst, t */
        return;
    }
    unsigned l = 64u - (unsigned)__builtin_clzll(a - 1);
    uint64_t m = (uint64_t)(((unsigned __int128)1 << (63 + l)) / a) + 1;
    emit_keep_rax(j, dst, n, false);                   /* mov rdi, rax / push rax */
    if (dst != RDX)
        emit_mov(j, W, R11, RDX);                      /* mov r11, rdx */
    emit_mov_imm(j, RAX, m);                           /* mov rax, m - 2^64 */
    emit_rr(j, W, 0xf7, 5, n);                         /* imul n: rdx = hi64 */
    emit_rr(j, W, 0x01, n, RDX);                       /* add rdx, n */
    emit_rr(j, W, 0xc1, 7, RDX);                       /* sar rdx, l - 1 (l >= 2) */
    emit1(j, l - 1);
    emit_mov(j, W, RAX, n);                            /* mov rax, n */
    emit_rr(j, W, 0xc1, 5, RAX);                       /* shr rax, 63 */
    emit1(j, 63);
    emit_rr(j, W, 0x01, RAX, RDX);                     /* add rdx, rax: q */
    if (d < 0)
        emit_rr(j, W, 0xf7, 3, RDX);                   /* neg rdx */
    if (mod) {
        emit_rr(j, W, 0x69, RDX, RDX);                 /* imul rdx, rdx, d */
        emit4(j, (uint32_t)d);
        emit_rr(j, W, 0x29, RDX, n);                   /* sub n, rdx */
    }
    if (!mod || n != dst || !f)
        emit_mov(j, f, dst, mod ? n : RDX);            /* mov dst, n / rdx (32: zero-extends) */
    if (dst != RDX)
        emit_mov(j, W, RDX, R11);                      /* mov rdx, r11 */
    emit_keep_rax(j, dst, n, true);                    /* mov rax, rdi / pop rax */
}

/* div/mod/sdiv/smod, 32 or 64 bit, by register or immediate. Division by
 * zero gives 0, modulo by zero keeps the dividend; signed x / -1 = -x and
 * x % -1 = 0 (so INT_MIN / -1 never reaches idiv). */
static void emit_divmod(bpfvm__jit *j, uint8_t code, bool is_signed, int dst, int src, int32_t imm,
                        bool safe)
{
    unsigned f = alu_w(code);
    bool mod = BPFVM_OP(code) == BPFVM_MOD;
    bool k = BPFVM_SRC(code) == BPFVM_K;
    uint32_t p_zero = 0, p_neg = 0, p_done1 = 0, p_done2 = 0;
    int dv = k || src == RAX || src == RDX ? RDI : src; /* the divisor */

    if (k && imm == 0) {
        if (!mod)
            emit_mov_imm(j, dst, 0);                   /* xor dst32, dst32 */
        else if (!f)
            emit_mov(j, 0, dst, dst);                  /* mov dst32, dst32 */
        return;
    }
    if (k && is_signed && imm == -1) {
        if (!mod)
            emit_rr(j, f, 0xf7, 3, dst);               /* neg dst */
        else
            emit_mov_imm(j, dst, 0);                   /* xor dst32, dst32 */
        return;
    }
    if (k && !is_signed && !j->blind_state) {
        emit_udiv_const(j, f, mod, dst, f ? (uint64_t)(int64_t)imm : (uint32_t)imm);
        return;
    }
    if (k && !j->blind_state) {
        emit_sdiv_const(j, f, mod, dst, imm);
        return;
    }
    if (k && j->blind_state) {
        emit_blinded(j, f, RDI, imm);                  /* rdi = imm, blinded */
    } else if (k) {
        if (f)
            emit_mov_imm(j, RDI, (uint64_t)(int64_t)imm); /* mov rdi, simm */
        else
            emit_mov_imm(j, RDI, (uint32_t)imm);       /* mov edi, imm */
    } else if (dv == RDI) {
        emit_mov(j, f, RDI, src);                      /* mov rdi, src */
    }
    if (!k && !safe) {                                 /* (safe: neither 0 nor -1, bpfvm__jit_bounds) */
        emit_rr(j, f, 0x85, dv, dv);                   /* test dv, dv */
        p_zero = emit_jfwd8(j, CC_NE);                 /* jnz nonzero */
        if (!mod)
            emit_mov_imm(j, dst, 0);                   /* xor dst32, dst32 */
        else if (!f)
            emit_mov(j, 0, dst, dst);                  /* mov dst32, dst32 */
        p_done1 = emit_jfwd8(j, -1);                   /* jmp done */
        patch_jfwd8(j, p_zero);                        /* nonzero: */
        if (is_signed) {
            emit_alu_imm(j, f, 7, dv, -1);             /* cmp dv, -1 */
            p_neg = emit_jfwd8(j, CC_NE);              /* jne general */
            if (!mod)
                emit_rr(j, f, 0xf7, 3, dst);           /* neg dst */
            else
                emit_mov_imm(j, dst, 0);               /* xor dst32, dst32 */
            p_done2 = emit_jfwd8(j, -1);               /* jmp done */
            patch_jfwd8(j, p_neg);                     /* general: */
        }
    }
    emit_keep_rax(j, dst, dv, false);                  /* mov rdi, rax / push rax */
    if (dst != RDX)
        emit_mov(j, W, R11, RDX);                      /* mov r11, rdx */
    if (dst != RAX)
        emit_mov(j, W, RAX, dst);                      /* mov rax, dst */
    if (!is_signed) {
        emit_mov_imm(j, RDX, 0);                       /* xor edx, edx */
    } else {
        emit_prefix(j, f, 0, 0);
        emit1(j, 0x99);                                /* cqo / cdq */
    }
    emit_rr(j, f, 0xf7, is_signed ? 7 : 6, dv);        /* div/idiv dv */
    emit_mov(j, f, dst, mod ? RDX : RAX);              /* mov dst, rax/rdx */
    if (dst != RDX)
        emit_mov(j, W, RDX, R11);                      /* mov rdx, r11 */
    emit_keep_rax(j, dst, dv, true);                   /* mov rax, rdi / pop rax */
    if (p_done1)
        patch_jfwd8(j, p_done1);
    if (p_done2)
        patch_jfwd8(j, p_done2);
}

/* zx16: dst holds a zero-extended 16-bit value (the load before it) */
static void emit_endian(bpfvm__jit *j, int op, int dst, bool zx16)
{
    switch (op) {
    case BPFVM__OP_LE16:
        emit_rr(j, 0, 0x0fb7, dst, dst);               /* movzx dst32, dst16 */
        break;
    case BPFVM__OP_LE32:
        emit_mov(j, 0, dst, dst);                      /* mov dst32, dst32 */
        break;
    case BPFVM__OP_LE64:
        break;
    case BPFVM__OP_BE16:
    case BPFVM__OP_BSWAP16:
        emit_rr(j, P16, 0xc1, 1, dst);                 /* ror dst16, 8 */
        emit1(j, 8);
        if (!zx16)
            emit_rr(j, 0, 0x0fb7, dst, dst);           /* movzx dst32, dst16 */
        break;
    case BPFVM__OP_BE32:
    case BPFVM__OP_BSWAP32:
        emit_prefix(j, 0, 0, dst);
        emit2(j, 0xc80fu + ((unsigned)(dst & 7) << 8)); /* bswap dst32 */
        break;
    default: /* BE64, BSWAP64 */
        emit_prefix(j, W, 0, dst);
        emit2(j, 0xc80fu + ((unsigned)(dst & 7) << 8)); /* bswap dst */
        break;
    }
}

/* ldx: dst = *(size *)m, zero- or sign-extended, m = [base + index * 2^scale + disp] */
static void emit_load(bpfvm__jit *j, int op, int dst, int base, int index, unsigned scale,
                      int32_t disp)
{
    unsigned f = W, opc;
    switch (op) {
    case BPFVM__OP_LDXB:  f = 0; opc = 0x0fb6; break; /* movzx dst32, byte [m] */
    case BPFVM__OP_LDXH:  f = 0; opc = 0x0fb7; break; /* movzx dst32, word [m] */
    case BPFVM__OP_LDXW:  f = 0; opc = 0x8b; break;   /* mov dst32, [m] */
    case BPFVM__OP_LDXDW: opc = 0x8b; break;          /* mov dst, [m] */
    case BPFVM__OP_LDXSB: opc = 0x0fbe; break;        /* movsx dst, byte [m] */
    case BPFVM__OP_LDXSH: opc = 0x0fbf; break;        /* movsx dst, word [m] */
    default:              opc = 0x63; break;          /* movsxd dst, [m] */
    }
    emit_mem(j, f, opc, dst, base, index, scale, disp);
}

static unsigned size_flags(unsigned size)
{
    return size == 1 ? BYTE : size == 2 ? P16 : size == 8 ? W : 0u;
}

/* st: *(size *)m = imm, m = [base + index * 2^scale + disp] */
static void emit_store_imm_at(bpfvm__jit *j, unsigned size, int base, int index, unsigned scale,
                              int32_t disp, int32_t imm)
{
    if (j->blind_state) {
        emit_blinded(j, W, R11, imm);                  /* r11 = imm, blinded */
        emit_mem(j, size_flags(size), size == 1 ? 0x88 : 0x89, R11, base, index, scale,
                 disp);                                /* mov [m], r11 */
        return;
    }
    emit_mem(j, size == 1 ? 0 : size_flags(size), size == 1 ? 0xc6 : 0xc7, 0, base, index, scale,
             disp);
    if (size == 1)
        emit1(j, (uint8_t)imm);                        /* mov byte [m], imm8 */
    else if (size == 2)
        emit2(j, (uint16_t)imm);                       /* mov word [m], imm16 */
    else
        emit4(j, (uint32_t)imm);                       /* mov dword/qword [m], imm32 */
}

/* st: *(size *)(base + off) = imm */
static void emit_store_imm(bpfvm__jit *j, unsigned size, int base, int16_t off, int32_t imm)
{
    emit_store_imm_at(j, size, base, -1, 0, off, imm);
}

/* atomics on [base + off] with src */
static void emit_atomic(bpfvm__jit *j, int op, bool is64, int base, int16_t off, int src)
{
    unsigned f = is64 ? W : 0u;
    int aop = bpfvm__ops[op].value;
    switch (aop) {
    case BPFVM_ADD: emit_rm(j, f | LOCK, 0x01, src, base, off); return;  /* lock add [m], src */
    case BPFVM_OR:  emit_rm(j, f | LOCK, 0x09, src, base, off); return;  /* lock or [m], src */
    case BPFVM_AND: emit_rm(j, f | LOCK, 0x21, src, base, off); return;  /* lock and [m], src */
    case BPFVM_XOR: emit_rm(j, f | LOCK, 0x31, src, base, off); return;  /* lock xor [m], src */
    case BPFVM_ADD | BPFVM_FETCH:
        emit_rm(j, f | LOCK, 0x0fc1, src, base, off);  /* lock xadd [m], src */
        return;
    case BPFVM_XCHG:
        emit_rm(j, f, 0x87, src, base, off);           /* xchg [m], src */
        return;
    case BPFVM_CMPXCHG:
        emit_rm(j, f | LOCK, 0x0fb1, src, base, off);  /* lock cmpxchg [m], src */
        if (!is64)
            emit_mov(j, 0, RAX, RAX);                  /* mov eax, eax */
        return;
    default: break;
    }
    /* fetch or/and/xor: a compare-exchange loop, the operand on the stack */
    unsigned rm_op = alu_ext(aop & 0xf0) * 8 + 3;
    emit_push(j, RAX);                                 /* push rax (r0) */
    emit_push(j, src);                                 /* push src */
    emit_mov(j, W, RDI, base);                         /* mov rdi, base */
    emit_rm(j, f, 0x8b, RAX, RDI, off);                /* mov rax, [rdi+off] */
    uint32_t loop = here(j);
    emit_mov(j, f, R11, RAX);                          /* loop: mov r11, rax */
    emit_rm(j, f, rm_op, R11, RSP, 0);                 /* or/and/xor r11, [rsp] */
    emit_rm(j, f | LOCK, 0x0fb1, R11, RDI, off);       /* lock cmpxchg [rdi+off], r11 */
    emit_jcc_back(j, CC_NE, loop);                     /* jne loop (inside this slot) */
    emit_alu_imm(j, W, 0, RSP, 8);                     /* add rsp, 8 */
    if (src == RAX) {
        emit_alu_imm(j, W, 0, RSP, 8);                 /* add rsp, 8: r0 = old value */
    } else {
        emit_mov(j, f, src, RAX);                      /* mov src, rax (old value) */
        emit_pop(j, RAX);                              /* pop rax */
    }
}

/* ldabs/ldind: r0 = big-endian load from mem at (x + imm), or end the run
 * with r0 = 0 when outside mem */
static void emit_packet_load(bpfvm__jit *j, const labels *l, unsigned size, int x, int32_t imm)
{
    if (j->blind_state) {
        emit_blinded(j, x < 0 ? 0u : W, RDI, imm);     /* rdi = imm, blinded */
        if (x >= 0)
            emit_rr(j, W, 0x01, x, RDI);               /* add rdi, x */
    } else if (x < 0) {
        emit_mov_imm(j, RDI, (uint32_t)imm);           /* mov edi, imm */
    } else {
        emit_rm(j, W, 0x8d, RDI, x, imm);              /* lea rdi, [x + imm] */
    }
    emit_rm(j, W, 0x3b, RDI, STATE, ST_OFF(mem_lim) + 8 * size_index(size)); /* cmp rdi, [lim] */
    emit_jcc_ref(j, CC_AE, BPFVM__FIX_ABS, l->exit_zero); /* jae exit_zero */
    emit_rr(j, W, 0x29, R10, RDI);                     /* sub rdi, r10: + mem_start */
    switch (size) {
    case 1:
        emit_rm(j, 0, 0x0fb6, RAX, RDI, 0);            /* movzx eax, byte [rdi] */
        break;
    case 2:
        emit_rm(j, 0, 0x0fb7, RAX, RDI, 0);            /* movzx eax, word [rdi] */
        emit_rr(j, P16, 0xc1, 0, RAX);                 /* rol ax, 8 */
        emit1(j, 8);
        break;
    case 4:
        emit_rm(j, 0, 0x8b, RAX, RDI, 0);              /* mov eax, [rdi] */
        emit2(j, 0xc80f);                              /* bswap eax */
        break;
    default:
        emit_rm(j, W, 0x8b, RAX, RDI, 0);              /* mov rax, [rdi] */
        emit1(j, 0x48);
        emit2(j, 0xc80f);                              /* bswap rax */
        break;
    }
}

/* helper call (imm id) or callx (register): r1..r5 are kept, r0 = result */
static void emit_helper_call(bpfvm__jit *j, const labels *l, size_t i, int idreg)
{
    static const int args[5] = { RSI, RDX, RCX, R8, R9 };
    emit_budget_check(j, i);
    if (idreg >= 0)
        emit_rm(j, W, 0x89, idreg, STATE, ST_OFF(helper_id)); /* mov [r13+helper_id], reg */
    emit_rm(j, W, 0xc7, 0, STATE, ST_OFF(helper_insn)); /* mov qword [r13+helper_insn], i */
    emit4(j, (uint32_t)i);
    for (int k = 0; k < 5; k++)
        emit_push(j, args[k]);                         /* push rsi .. r9 */
    emit_alu_imm(j, W, 5, RSP, 8);                     /* sub rsp, 8 */
    emit_rm(j, W, 0x8d, RDI, STATE, ST_OFF(ctx));      /* lea rdi, [r13+ctx] */
    emit_call_abs(j, j->rt_helper);                    /* call rt_helper(ctx, r1..r5) */
    emit_alu_imm(j, W, 0, RSP, 8);                     /* add rsp, 8 */
    if (j->uses & BPFVM__JIT_USES_MEM)
        emit_rm(j, W, 0x8b, R10, STATE, ST_OFF(mem_neg)); /* mov r10, [r13+mem_neg] */
    for (int k = 4; k >= 0; k--)
        emit_pop(j, args[k]);                          /* pop r9 .. rsi */
    emit_rm(j, 0, 0x83, 7, STATE, ST_OFF(rc));         /* cmp dword [r13+rc], 0 */
    emit1(j, 0);
    emit_jcc_ref(j, CC_NE, BPFVM__FIX_ABS, l->fault_exit); /* jne fault_exit */
}

/* Does slot i only compute in registers or jump, without naming r10? A
 * function made of such slots alone (a leaf) never reaches C code that reads
 * the frame (ctx.frame_start) or needs the machine stack aligned (only the
 * error stubs, which reset it), and cannot see r10. */
static bool leaf_slot(const bpfvm_insn *in, int fmt)
{
    switch (fmt) {
    case BPFVM__FMT_ALU_X: case BPFVM__FMT_JMP_X:
        if (in->src == BPFVM_R10)
            return false;
        /* fall through */
    case BPFVM__FMT_ALU_K: case BPFVM__FMT_JMP_K: case BPFVM__FMT_NEG: case BPFVM__FMT_END:
        return in->dst != BPFVM_R10;
    case BPFVM__FMT_LDDW: case BPFVM__FMT_JA: case BPFVM__FMT_JA32: case BPFVM__FMT_EXIT:
        return true;
    default:
        return false;
    }
}

/* bpf_map_lookup_elem inlined on an array (bpfvm__jit_array_lookup): the
 * key is read inline when the helper would surely accept its pointer
 * (checked: [r2, +4) inside the current frame; unchecked: r2 not NULL),
 * anything else makes the helper call, which faults as the interpreter's.
 *   (checks)                  jae/je slow
 *   xor eax, eax; mov edi, [rdx]; cmp edi, max; jae done
 *   imul edi, edi, stride (shl for a power of two)
 *   mov rax, values; add rax, rdi
 *   jmp done; slow: the helper call; done: */
static void emit_array_lookup(bpfvm__jit *j, const labels *l, size_t i, const bpfvm__jit_array *a)
{
    emit_budget_check(j, i);
    uint32_t slow;
    if (j->checked) {
        emit_frame_check(j, RDX, 0, 4);
        slow = emit_jfwd8(j, CC_AE);                   /* jae slow */
    } else {
        emit_rr(j, W, 0x85, RDX, RDX);                 /* test rdx, rdx */
        slow = emit_jfwd8(j, CC_E);                    /* je slow */
    }
    emit_mov_imm(j, RAX, 0);                           /* xor eax, eax */
    emit_rm(j, 0, 0x8b, RDI, RDX, 0);                  /* mov edi, [rdx] */
    emit_alu_imm(j, 0, 7, RDI, (int32_t)a->max_entries); /* cmp edi, max_entries */
    uint32_t miss = emit_jfwd8(j, CC_AE);              /* jae done */
    if ((a->stride & (a->stride - 1)) == 0) {
        emit_rr(j, 0, 0xc1, 4, RDI);                   /* shl edi, log2(stride) */
        emit1(j, (unsigned)__builtin_ctz(a->stride));
    } else {
        emit_rr(j, 0, 0x69, RDI, RDI);                 /* imul edi, edi, stride */
        emit4(j, a->stride);
    }
    emit_mov_imm(j, RAX, a->values);                   /* mov rax, values */
    emit_rr(j, W, 0x01, RDI, RAX);                     /* add rax, rdi */
    patch_jfwd8(j, miss);
    uint32_t done = emit_jfwd8(j, -1);                 /* jmp done */
    patch_jfwd8(j, slow);
    emit_helper_call(j, l, i, -1);
    patch_jfwd8(j, done);
}

/* Which of r6..r9 (bit n for r(6+n)) the function entered at slot t may
 * write: the slots it reaches through its jumps (its own calls restore
 * them), up to MAX_WALK of them; all four beyond that. *leaf: every slot
 * reached is a leaf_slot. */
#define MAX_WALK 64
static unsigned callee_writes(const bpfvm__jit *j, size_t t, bool *leaf)
{
    size_t todo[MAX_WALK], seen[MAX_WALK], ntodo = 0, nseen = 0;
    unsigned w = 0;
    bool all_leaf = true;

    *leaf = false;
    todo[ntodo++] = t;
    while (ntodo) {
        size_t i = todo[--ntodo];
        for (;;) {
            bool known = false;
            for (size_t k = 0; k < nseen && !known; k++)
                known = seen[k] == i;
            if (known)
                break;
            if (nseen == MAX_WALK || i >= j->count)
                return 0xf;
            seen[nseen++] = i;
            const bpfvm_insn *in = &j->code[i];
            int fmt = bpfvm__ops[in->opcode].fmt;
            int r = fmt == BPFVM__FMT_ATOMIC ? in->src : in->dst;
            bool writes = fmt == BPFVM__FMT_ALU_K || fmt == BPFVM__FMT_ALU_X ||
                          fmt == BPFVM__FMT_NEG || fmt == BPFVM__FMT_END ||
                          fmt == BPFVM__FMT_LDX || fmt == BPFVM__FMT_LDDW ||
                          fmt == BPFVM__FMT_ATOMIC;
            if (writes && r >= 6 && r <= 9)
                w |= 1u << (r - 6);
            all_leaf &= leaf_slot(in, fmt);
            if (fmt == BPFVM__FMT_EXIT)
                break;
            if (fmt == BPFVM__FMT_JA || fmt == BPFVM__FMT_JA32) {
                i = bpfvm__jit_dest(j, i);
                continue;
            }
            if (fmt == BPFVM__FMT_JMP_K || fmt == BPFVM__FMT_JMP_X) {
                if (ntodo == MAX_WALK)
                    return 0xf;
                todo[ntodo++] = bpfvm__jit_dest(j, i);
            }
            i += fmt == BPFVM__FMT_LDDW ? 2 : 1;
        }
    }
    *leaf = all_leaf;
    return w;
}

/* r6..r9: what a local call saves of them (callee_writes' bits) */
static const int call_saved[4] = { RBX, R14, R15, R12 };

/* pop the registers of w (callee_writes) a local call saved */
static void emit_pops(bpfvm__jit *j, unsigned w)
{
    for (int r = 3; r >= 0; r--)
        if (w & (1u << r))
            emit_pop(j, call_saved[r]);                /* pop them */
}

/* local call: depth check, save the r6..r9 the callee may write, next frame
 * (r10 += S), call. The machine stack moves by a multiple of 16 per call,
 * as helper calls inside expect. A leaf callee (see leaf_slot) gets neither
 * the frame nor the alignment: only the depth check and the saves. */
static void emit_local_call(bpfvm__jit *j, size_t i, size_t t)
{
    int32_t s = (int32_t)j->stack_size;
    bool leaf;
    unsigned w = callee_writes(j, t, &leaf), n = 0;
    emit_budget_check(j, i);
    if (!j->calls_free) {
        bpfvm__jit_stub st = { BPFVM__STUB_CALLDEPTH, 0, 0, 0, 0, (uint32_t)i, 0, 0 };
        size_t k = bpfvm__jit_add_stub(j, &st);
        emit_rm(j, W, 0x3b, RBP, STATE, ST_OFF(frame_limit)); /* cmp rbp, [r13+frame_limit] */
        emit_jcc_ref(j, CC_AE, BPFVM__FIX_STUB, k);    /* jae calldepth */
    }
    for (int r = 0; r < 4; r++)
        if (w & (1u << r)) {
            emit_push(j, call_saved[r]);               /* push the written ones of rbx, r14, r15, r12 */
            n++;
        }
    if (leaf) {
        emit_call_ref(j, BPFVM__FIX_SLOT, t);          /* call slot t */
        emit_pops(j, w);
        return;
    }
    if (n % 2 == 0)
        emit_alu_imm(j, W, 5, RSP, 8);                 /* sub rsp, 8 */
    emit_rm(j, W, 0x89, RBP, STATE, CTX_OFF(frame_start)); /* mov [r13+frame_start], rbp */
    emit_alu_imm(j, W, 0, RBP, s);                     /* add rbp, S */
    emit_call_ref(j, BPFVM__FIX_SLOT, t);              /* call slot t */
    emit_alu_imm(j, W, 5, RBP, s);                     /* sub rbp, S */
    if (n % 2 == 0)
        emit_alu_imm(j, W, 0, RSP, 8);                 /* add rsp, 8 */
    emit_pops(j, w);
    emit_rm(j, W, 0x8d, RDI, RBP, -s);                 /* lea rdi, [rbp-S] */
    emit_rm(j, W, 0x89, RDI, STATE, CTX_OFF(frame_start)); /* mov [r13+frame_start], rdi */
}

static int jump_cc(uint8_t code)
{
    switch (BPFVM_OP(code)) {
    case BPFVM_JEQ:  return CC_E;
    case BPFVM_JNE:  return CC_NE;
    case BPFVM_JSET: return CC_NE;
    case BPFVM_JGT:  return CC_A;
    case BPFVM_JGE:  return CC_AE;
    case BPFVM_JLT:  return CC_B;
    case BPFVM_JLE:  return CC_BE;
    case BPFVM_JSGT: return CC_G;
    case BPFVM_JSGE: return CC_GE;
    case BPFVM_JSLT: return CC_L;
    default:         return CC_LE; /* JSLE */
    }
}

/* a jump (cc < 0: unconditional) from slot i to slot t; backward jumps
 * taken are budget checkpoints */
static void emit_branch(bpfvm__jit *j, size_t i, size_t t, int cc)
{
    if (t == i + 1)
        return; /* both ways lead to the next slot */
    size_t index = t;
    int kind = bpfvm__jit_slot_ref(j, i, &index);
    if (t > i || !j->metered) {
        emit_jump_slot(j, cc, kind == BPFVM__FIX_SLOT ? BPFVM__FIX_SLOT_JUMP
                              : kind == BPFVM__FIX_COPY ? BPFVM__FIX_COPY_JUMP : kind, index);
        return;
    }
    uint32_t p = 0;
    if (cc >= 0)
        p = emit_jfwd8(j, cc ^ 1);                     /* j!cc skip */
    emit_budget_check(j, i);                           /* cmp [budget_left], 0; jl stub */
    emit_jmp_ref(j, kind, index);                      /* jmp slot t (rel32: fixed size) */
    if (cc >= 0)
        patch_jfwd8(j, p);                             /* skip: */
}

/* Did slot i - 1, in the same block, set the flags `test dst, dst` would (an
 * and/or/xor into the jump's dst, of the jump's width, actually emitted)? */
static bool flags_from_previous(const bpfvm__jit *j, size_t i, uint8_t jcode)
{
    if (i < 1 || (j->marks[i] & BPFVM__MARK_LEADER) ||
        (i >= 2 && j->code[i - 2].opcode == BPFVM__OP_LDDW))
        return false;
    const bpfvm_insn *p = &j->code[i - 1];
    const bpfvm__opinfo *info = &bpfvm__ops[p->opcode];
    unsigned op = BPFVM_OP(info->code);
    if ((info->fmt != BPFVM__FMT_ALU_K && info->fmt != BPFVM__FMT_ALU_X) ||
        (op != BPFVM_AND && op != BPFVM_OR && op != BPFVM_XOR) || p->dst != j->code[i].dst ||
        (BPFVM_CLASS(info->code) == BPFVM_ALU64) != (BPFVM_CLASS(jcode) == BPFVM_JMP))
        return false;
    /* or/xor with 0 emit nothing (unless blinded) */
    return info->fmt == BPFVM__FMT_ALU_X || p->imm != 0 || op == BPFVM_AND || j->blind_state;
}

/* Slot i, a conditional jump comparing two registers, one of which slot
 * i - 1 sets to a constant (clang's v1 `r0 = 26; if r0 > r2`: `mov R, K`,
 * 64-bit, or 32-bit with K >= 0; no jump lands on slot i; not blinded):
 * 0 if R is its dst, 1 if its src, -1 if neither; *k = K. */
static int konst_operand(const bpfvm__jit *j, size_t i, int32_t *k)
{
    if (i == 0 || j->blind_state || (j->marks[i] & BPFVM__MARK_LEADER))
        return -1;
    const bpfvm_insn *in = &j->code[i], *mv = &in[-1];
    if (bpfvm__ops[in->opcode].fmt != BPFVM__FMT_JMP_X || in->dst == in->src ||
        (mv->opcode != BPFVM__OP_MOV64_K && (mv->opcode != BPFVM__OP_MOV32_K || mv->imm < 0)))
        return -1;
    *k = mv->imm;
    return mv->dst == in->dst ? 0 : mv->dst == in->src ? 1 : -1;
}

/* Is slot i such a `mov R, K` for the jump after it, R dead after the jump?
 * Then it needs no code. */
static bool konst_dead(bpfvm__jit *j, size_t i)
{
    int32_t k;
    return i + 1 < j->count && konst_operand(j, i + 1, &k) >= 0 &&
           bpfvm__jit_dead_after(j, i + 1, j->code[i].dst);
}

/* Slot i, a conditional jump comparing two registers (not jset), one of
 * which slot i - 1 loads from the frame at a constant offset (ldxdw for a
 * 64-bit jump, ldxw for a 32-bit one: clang's `r1 = *(u64 *)(r10 - 24); if
 * r4 >= r1` of a bound it spilled), no jump landing on slot i, the register
 * dead after the jump: the load needs no code and the compare reads the
 * frame. 0 if the register is the jump's dst, 1 if its src, -1 if no such. */
static int frame_operand(bpfvm__jit *j, size_t i)
{
    if (i == 0 || (j->marks[i] & BPFVM__MARK_LEADER))
        return -1;
    const bpfvm_insn *in = &j->code[i], *ld = &in[-1];
    uint8_t code = bpfvm__ops[in->opcode].code;
    bool w64 = BPFVM_CLASS(code) == BPFVM_JMP;
    if (bpfvm__ops[in->opcode].fmt != BPFVM__FMT_JMP_X || in->dst == in->src ||
        BPFVM_OP(code) == BPFVM_JSET || ld->opcode != (w64 ? BPFVM__OP_LDXDW : BPFVM__OP_LDXW) ||
        ld->src != BPFVM_R10 || (ld->dst != in->dst && ld->dst != in->src) ||
        !bpfvm__jit_in_frame(j, BPFVM_R10, ld->off, w64 ? 8 : 4) ||
        !bpfvm__jit_dead_after(j, i, ld->dst))
        return -1;
    return ld->dst == in->dst ? 0 : 1;
}

/* The compare of conditional jump slot i (immediates through r11 when
 * blinding; a register konst_operand knows as an immediate, or one
 * frame_operand reads from the frame): the condition code for the jump
 * (jump_cc of its code, or of the mirrored code). */
static int emit_compare(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    uint8_t code = bpfvm__ops[in->opcode].code;
    unsigned f = BPFVM_CLASS(code) == BPFVM_JMP ? W : 0u;
    int dst = reg_map[in->dst], src = reg_map[in->src];
    int32_t imm = in->imm;
    int konst = konst_operand(j, i, &imm);
    if (konst >= 0) {                                  /* the other register with K */
        if (konst == 0) {
            dst = src;
            code = bpfvm__jit_mirror(code);
        }
        code = (uint8_t)(code & ~BPFVM_X);
    }
    int fr = konst < 0 ? frame_operand(j, i) : -1;
    if (fr >= 0) {                                     /* cmp the other register, [rbp + off] */
        emit_rm(j, f, 0x3b, fr == 0 ? src : dst, RBP, in[-1].off);
        return jump_cc(fr == 0 ? bpfvm__jit_mirror(code) : code);
    }
    if (j->blind_state && BPFVM_SRC(code) == BPFVM_K) {
        emit_blinded(j, W, R11, imm);                  /* r11 = imm, blinded */
        code |= BPFVM_X;
        src = R11;
    }
    bool k = BPFVM_SRC(code) == BPFVM_K;
    if (BPFVM_OP(code) == BPFVM_JSET) {
        if (k) {
            emit_rr(j, f, 0xf7, 0, dst);               /* test dst, imm32 */
            emit4(j, (uint32_t)imm);
        } else {
            emit_rr(j, f, 0x85, src, dst);             /* test dst, src */
        }
    } else if (k && imm == 0) {
        bool eq = BPFVM_OP(code) == BPFVM_JEQ || BPFVM_OP(code) == BPFVM_JNE;
        if (!eq || konst >= 0 || !flags_from_previous(j, i, code))
            emit_rr(j, f, 0x85, dst, dst);             /* test dst, dst */
    } else if (k) {
        emit_alu_imm(j, f, 7, dst, imm);               /* cmp dst, imm */
    } else {
        emit_rr(j, f, 0x39, src, dst);                 /* cmp dst, src */
    }
    return jump_cc(code);
}

/* ---- fused instructions ------------------------------------------------ */

/* Slots i+1 .. i+k exist and no jump lands on them or starts a block there. */
static bool straight(const bpfvm__jit *j, size_t i, size_t k)
{
    if (i + k >= j->count)
        return false;
    for (size_t m = 1; m <= k; m++)
        if (j->marks[i + m] & BPFVM__MARK_LEADER)
            return false;
    return true;
}

/* An address computed into a register by the slots from i on, as x86
 * operands: [base + index * 2^scale + disp] (index < 0: none). */
typedef struct address {
    int breg;       /* the eBPF register receiving it */
    int base, index;
    unsigned scale;
    int32_t disp;
    size_t slots;   /* how many slots compute it */
} address;

static bool is_op(const bpfvm__jit *j, size_t i, int op) { return j->code[i].opcode == op; }

/* The shapes clang gives address arithmetic (A dead afterwards):
 *   mov B, C; add B, X                      B = C + X
 *   mov B, C; add B, K                      B = C + K     (not blinded)
 *   lsh A, s; mov B, C; add B, A            B = C + A * 2^s    (s = 1..3)
 *   mov A, X; lsh A, s; mov B, C; add B, A  B = C + X * 2^s */
static bool match_address(bpfvm__jit *j, size_t i, address *a)
{
    const bpfvm_insn *in = &j->code[i];
    size_t k = 0;
    int x = -1, sh = 0;
    if (is_op(j, i, BPFVM__OP_MOV64_X) && straight(j, i, 3) && is_op(j, i + 1, BPFVM__OP_LSH64_K) &&
        in[1].dst == in->dst && in->src != in->dst) {
        x = in->src;                                   /* mov A, X; lsh A, s */
        sh = in[1].imm;
        k = 2;
    } else if (is_op(j, i, BPFVM__OP_LSH64_K) && straight(j, i, 2)) {
        x = in->dst;                                   /* lsh A, s */
        sh = in->imm;
        k = 1;
    }
    if (k) {
        int A = in->dst;
        const bpfvm_insn *mv = &in[k], *ad = &in[k + 1];
        if (sh < 1 || sh > 3 || !is_op(j, i + k, BPFVM__OP_MOV64_X) ||
            !is_op(j, i + k + 1, BPFVM__OP_ADD64_X) || ad->dst != mv->dst || ad->src != A ||
            mv->dst == A || mv->src == A || mv->dst == mv->src ||
            !bpfvm__jit_dead_after(j, i + k + 1, A))
            return false;
        *a = (address){ mv->dst, reg_map[mv->src], reg_map[x], (unsigned)sh, 0, k + 2 };
        return true;
    }
    if (!is_op(j, i, BPFVM__OP_MOV64_X) || in->dst == in->src || !straight(j, i, 1) ||
        in[1].dst != in->dst)
        return false;
    if (is_op(j, i + 1, BPFVM__OP_ADD64_X) && in[1].src != in->dst) {
        *a = (address){ in->dst, reg_map[in->src], reg_map[in[1].src], 0, 0, 2 };
        return true;
    }
    if (is_op(j, i + 1, BPFVM__OP_ADD64_K) && !j->blind_state) {
        *a = (address){ in->dst, reg_map[in->src], -1, 0, in[1].imm, 2 };
        return true;
    }
    return false;
}

/* What clang emits for v1 (no 32-bit ALU) to zero- or sign-extend the low
 * half of a register: lsh r, 32; rsh|arsh r, 32   ->   mov r32, r32 / movsxd r, r32 */
static size_t emit_extend(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    if (in->imm != 32 || !straight(j, i, 1) || in[1].dst != in->dst || in[1].imm != 32 ||
        (in[1].opcode != BPFVM__OP_RSH64_K && in[1].opcode != BPFVM__OP_ARSH64_K))
        return 0;
    int d = reg_map[in->dst];
    if (in[1].opcode == BPFVM__OP_RSH64_K)
        emit_mov(j, 0, d, d);                          /* mov d32, d32 */
    else
        emit_rr(j, W, 0x63, d, d);                     /* movsxd d, d32 */
    return 2;
}

static size_t emit_insn(bpfvm__jit *j, const labels *l, size_t i);
static bool load_dead(bpfvm__jit *j, size_t i);

/* Does slot m's access go without a check (unchecked mode, proven by the
 * guard of the loop whose unchecked copy is being emitted, or a load or
 * store the program's compares prove, BPFVM__MARK_PROVEN; see
 * bpfvm__jit_need_check), nothing jumping onto it? (emit_address takes
 * loads and stores only, never atomics.) */
static bool access_unchecked(const bpfvm__jit *j, size_t m)
{
    return m < j->count && !(j->marks[m] & BPFVM__MARK_LEADER) &&
           (!j->checked || bpfvm__jit_proven(j, m));
}

/* Can the access at slot m (an access_unchecked one) take the address a
 * computes, B not needed afterwards: a load through B (into any register),
 * or a store through B of another register or an immediate? */
static bool address_access(bpfvm__jit *j, const address *a, size_t m)
{
    const bpfvm_insn *in = &j->code[m];
    int fmt = bpfvm__ops[in->opcode].fmt;
    if (!is_imm32((int64_t)a->disp + in->off))
        return false;
    if (fmt == BPFVM__FMT_LDX)
        return in->src == a->breg && (in->dst == a->breg || bpfvm__jit_dead_after(j, m, a->breg));
    return (fmt == BPFVM__FMT_ST || (fmt == BPFVM__FMT_STX && in->src != a->breg)) &&
           in->dst == a->breg && bpfvm__jit_dead_after(j, m, a->breg);
}

#define MAX_BETWEEN 4 /* register operations between an address and its access */

/* The first slot from m on (at most MAX_BETWEEN further) that is not a
 * register operation leaving alone the registers of the address a (neither
 * reading nor writing B; with sources, not writing what it is computed
 * from either), or that a jump lands on. */
static size_t past_independent(const bpfvm__jit *j, const address *a, size_t m, bool sources)
{
    size_t k = m;
    for (; k < m + MAX_BETWEEN && k < j->count && !(j->marks[k] & BPFVM__MARK_LEADER); k++) {
        const bpfvm_insn *in = &j->code[k];
        int fmt = bpfvm__ops[in->opcode].fmt, d = reg_map[in->dst];
        if ((fmt != BPFVM__FMT_ALU_K && fmt != BPFVM__FMT_ALU_X && fmt != BPFVM__FMT_NEG &&
             fmt != BPFVM__FMT_END) ||
            in->dst == a->breg || (fmt == BPFVM__FMT_ALU_X && in->src == a->breg) ||
            (sources && (d == a->base || d == a->index)))
            break;
    }
    return k;
}

/* May the register operations of slots m..s-1 run after the access at slot
 * s instead of before it: none writes its data register (a load's
 * destination, a store's source) and none reads a load's destination? */
static bool after_access(const bpfvm__jit *j, size_t m, size_t s)
{
    const bpfvm_insn *acc = &j->code[s];
    int fmt = bpfvm__ops[acc->opcode].fmt;
    int data = fmt == BPFVM__FMT_LDX ? acc->dst : fmt == BPFVM__FMT_STX ? acc->src : -1;
    for (size_t k = m; k < s; k++) {
        const bpfvm_insn *in = &j->code[k];
        if (in->dst == data || (fmt == BPFVM__FMT_LDX && in->src == data &&
                                bpfvm__ops[in->opcode].fmt == BPFVM__FMT_ALU_X))
            return false;
    }
    return true;
}

/* The register operations of slots m..s-1 (never part of a larger shape) */
static void emit_between(bpfvm__jit *j, const labels *l, size_t m, size_t s)
{
    size_t k = m;
    while (k < s && !j->err)
        k += emit_insn(j, l, k);
    if (k != s)
        j->err = BPFVM_EJIT;
}

/* An address computation, and where the access that follows needs no check
 * (access_unchecked) and can take the address (address_access), possibly
 * after register operations that do not touch it (past_independent; they
 * are emitted first) or that write what it is computed from but leave the
 * access's data alone (after_access; they are emitted after it), the
 * access itself:
 *   lea B, [C + X*s + K]     /     mov D, [C + X*s + K + off] / mov [...], S / imm */
static size_t emit_address(bpfvm__jit *j, const labels *l, size_t i)
{
    address a;
    if (!match_address(j, i, &a))
        return 0;
    size_t m = i + a.slots, s = past_independent(j, &a, m, true);
    bool later = false;
    if (!access_unchecked(j, s) || !address_access(j, &a, s)) {
        s = past_independent(j, &a, m, false);
        later = true;
        if (s == m || !access_unchecked(j, s) || !address_access(j, &a, s) ||
            !after_access(j, m, s)) {
            emit_mem(j, W, 0x8d, reg_map[a.breg], a.base, a.index, a.scale, a.disp); /* lea B, [address] */
            return a.slots;
        }
    }
    if (!later)
        emit_between(j, l, m, s);                      /* the register operations between */
    const bpfvm_insn *in = &j->code[s];
    int fmt = bpfvm__ops[in->opcode].fmt;
    unsigned size = bpfvm__jit_access_size(bpfvm__ops[in->opcode].code);
    int32_t disp = a.disp + in->off;
    if (fmt == BPFVM__FMT_LDX)
        emit_load(j, in->opcode, reg_map[in->dst], a.base, a.index, a.scale,
                  disp);                               /* mov/movzx/movsx D, [address + off] */
    else if (fmt == BPFVM__FMT_STX)
        emit_mem(j, size_flags(size), size == 1 ? 0x88 : 0x89, reg_map[in->src], a.base, a.index,
                 a.scale, disp);                       /* mov [address + off], S */
    else
        emit_store_imm_at(j, size, a.base, a.index, a.scale, disp, in->imm); /* mov [...], imm */
    if (later)
        emit_between(j, l, m, s);                      /* the register operations between */
    return s + 1 - i;
}

static void emit_cond_branch(bpfvm__jit *j, const labels *l, size_t i, size_t t, int cc);

/* mov d, s; and d, K|r; jeq/jne d, 0 with d not needed after the jump:
 *   test s, K|r; je/jne    (the narrowest width any of the three has) */
static size_t emit_test_jump(bpfvm__jit *j, const labels *l, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    if ((in->opcode != BPFVM__OP_MOV64_X && in->opcode != BPFVM__OP_MOV32_X) ||
        in->dst == in->src || !straight(j, i, 2))
        return 0;
    int a = in[1].opcode, c = in[2].opcode;
    bool k = a == BPFVM__OP_AND64_K || a == BPFVM__OP_AND32_K;
    if ((!k && a != BPFVM__OP_AND64_X && a != BPFVM__OP_AND32_X) ||
        (c != BPFVM__OP_JEQ_K && c != BPFVM__OP_JNE_K && c != BPFVM__OP_JEQ32_K &&
         c != BPFVM__OP_JNE32_K) ||
        in[1].dst != in->dst || in[2].dst != in->dst || in[2].imm != 0 ||
        (!k && in[1].src == in->dst) || (k && j->blind_state) ||
        !bpfvm__jit_dead_after(j, i + 2, in->dst))
        return 0;
    unsigned f = in->opcode == BPFVM__OP_MOV64_X && (a == BPFVM__OP_AND64_K ||
                                                     a == BPFVM__OP_AND64_X) &&
                 (c == BPFVM__OP_JEQ_K || c == BPFVM__OP_JNE_K) ? W : 0u;
    int s = reg_map[in->src];
    int32_t imm = in[1].imm;
    if (!k) {
        emit_rr(j, f, 0x85, reg_map[in[1].src], s);    /* test s, r */
    } else if (imm >= 0 && imm <= 255) {
        emit_rr(j, BYTE, 0xf6, 0, s);                  /* test s8, imm8 */
        emit1(j, (uint8_t)imm);
    } else {
        emit_rr(j, f, 0xf7, 0, s);                     /* test s, imm32 */
        emit4(j, (uint32_t)imm);
    }
    bool eq = c == BPFVM__OP_JEQ_K || c == BPFVM__OP_JEQ32_K;
    emit_cond_branch(j, l, i + 2, bpfvm__jit_dest(j, i + 2), eq ? CC_E : CC_NE);
    return 3;
}

/* mul d, 3|5|9 (then add d, K, not blinded): lea d, [d + d*2|4|8 + K] */
static size_t emit_mul_lea(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    int32_t m = in->imm;
    if ((in->opcode != BPFVM__OP_MUL64_K && in->opcode != BPFVM__OP_MUL32_K) ||
        (m != 3 && m != 5 && m != 9))
        return 0;
    unsigned f = in->opcode == BPFVM__OP_MUL64_K ? W : 0u;
    int add = f ? BPFVM__OP_ADD64_K : BPFVM__OP_ADD32_K, d = reg_map[in->dst];
    bool fold = !j->blind_state && straight(j, i, 1) && in[1].opcode == add &&
                in[1].dst == in->dst;
    emit_mem(j, f, 0x8d, d, d, d, m == 3 ? 1u : m == 5 ? 2u : 3u, fold ? in[1].imm : 0);
    return fold ? 2 : 1;                               /* lea d, [d + d*(m-1) + K] */
}

/* Does the code for slot t follow the code for slot i (which would have
 * ended in a ja)? Not in a loop's unchecked copy when i is the loop's last
 * slot: the copy ends there. */
static bool falls_to(const bpfvm__jit *j, size_t i, size_t t)
{
    return t == i + 1 && !(j->copy && i == j->copy->last);
}

/* jcc/jmp (cc < 0) slot t, from slot i's code (into a loop's copy or guard
 * as a jump from slot i would go) */
static void emit_goto_slot(bpfvm__jit *j, int cc, size_t i, size_t t)
{
    size_t dest = t;
    int kind = t < j->count ? bpfvm__jit_slot_ref(j, i, &dest) : BPFVM__FIX_SLOT;
    emit_jump_slot(j, cc, kind == BPFVM__FIX_SLOT ? BPFVM__FIX_SLOT_JUMP
                          : kind == BPFVM__FIX_COPY ? BPFVM__FIX_COPY_JUMP : kind, dest);
}

/* Is slot i `jcc +1; ja T` back (a loop's back edge), nothing else jumping
 * to the ja and no budget? (Forward, out of isort's outer loop, the change
 * below made the sort 10% slower, for no reason found.) */
static bool over_ja(const bpfvm__jit *j, size_t i)
{
    return !j->metered && j->code[i].off == 1 && i + 1 < j->count &&
           bpfvm__ops[j->code[i + 1].opcode].fmt == BPFVM__FMT_JA && j->code[i + 1].off < 0 &&
           !bpfvm__jit_is_target(j, i + 1);
}

/* Such a pair (over_ja) as j!cc T. */
static size_t emit_jump_over_ja(bpfvm__jit *j, const labels *l, size_t i)
{
    if (!over_ja(j, i))
        return 0;
    int cc = emit_compare(j, i);
    emit_cond_branch(j, l, i + 1, bpfvm__jit_dest(j, i + 1), cc ^ 1);
    if (!falls_to(j, i + 1, i + 2))
        emit_goto_slot(j, -1, i + 1, i + 2);           /* jmp slot i + 2 */
    return 2;
}

static size_t copyable_block(const bpfvm__jit *j, size_t t);

/* Host register d = the value of plain mov `in` (K or X form, 32 or 64
 * bits), leaving the flags alone (no xor for 0). */
static void emit_mov_keep_flags(bpfvm__jit *j, const bpfvm_insn *in, int d)
{
    if (in->opcode == BPFVM__OP_MOV64_X || in->opcode == BPFVM__OP_MOV32_X) {
        emit_mov(j, in->opcode == BPFVM__OP_MOV64_X ? W : 0u, d, reg_map[in->src]);
    } else if (in->opcode == BPFVM__OP_MOV64_K && in->imm < 0) {
        emit_rr(j, W, 0xc7, 0, d);                     /* mov d, simm32 */
        emit4(j, (uint32_t)in->imm);
    } else {
        emit_prefix(j, 0, 0, d);                       /* mov d32, imm32 */
        emit1(j, 0xb8u + (unsigned)(d & 7));
        emit4(j, (uint32_t)in->imm);
    }
}

/* bpfvm__jit_select, and slot i does not end a block a ja or a backward
 * jump may copy (emit_block_copy: the copy's exit jumps to the mov's slot),
 * nor is part of such a copy. */
static bool select_here(bpfvm__jit *j, size_t i)
{
    if (j->copying == 2)
        return bpfvm__jit_select(j, i);              /* (a threaded copy's select) */
    if (j->copying || !bpfvm__jit_select(j, i))
        return false;
    for (size_t t = i; t + 4 >= i; t--) {
        if (bpfvm__jit_is_ja_target(j, t) && copyable_block(j, t) == i)
            return false;
        if (t == 0)
            break;
    }
    return true;
}

/* jcc +1; mov D, K|S (clang's lowered select, bpfvm__jit_select: the mov
 * happens when the condition is false): cmp; cmov!cc D, value, 64-bit from
 * a zero- or sign-extended value in rdi (a 32-bit cmov would zero-extend D
 * when the condition holds). The value is loaded after the compare with a
 * mov that keeps the flags. */
static size_t emit_select(bpfvm__jit *j, size_t i)
{
    if (!select_here(j, i))
        return 0;
    const bpfvm_insn *mv = &j->code[i + 1];
    int op = mv->opcode;
    bool k = op == BPFVM__OP_MOV64_K || op == BPFVM__OP_MOV32_K;
    int dst = reg_map[mv->dst], src = reg_map[mv->src];
    int cc = emit_compare(j, i) ^ 1;
    if (k || op == BPFVM__OP_MOV32_X) {
        emit_mov_keep_flags(j, mv, RDI);               /* rdi = the mov's value */
        src = RDI;
    }
    emit_rr(j, W, 0x0f40u + (unsigned)cc, dst, src);   /* cmov!cc dst, src */
    return 2;
}

static bool run_continues(const bpfvm__jit *j, size_t k);

/* mov D, 1; jcc +1; mov D, 0 (a condition as 0/1, the compare not reading
 * D): xor D32, D32 before the compare (which the xor's flags cannot reach),
 * then setcc D8. */
static size_t emit_setcc(bpfvm__jit *j, size_t i)
{
    /* (a `mov R, K` that needs no code may come first: konst_dead) */
    size_t o = i + 2 < j->count && run_continues(j, i + 1) &&
               j->code[i + 1].dst != j->code[i].dst && konst_dead(j, i + 1);
    const bpfvm_insn *in = &j->code[i], *jc = &in[1 + o], *mv = &in[2 + o];
    if (in->imm != 1 || !run_continues(j, i + 1 + o) || !select_here(j, i + 1 + o) ||
        (mv->opcode != BPFVM__OP_MOV64_K && mv->opcode != BPFVM__OP_MOV32_K) || mv->imm != 0 ||
        mv->dst != in->dst || jc->dst == in->dst ||
        (bpfvm__ops[jc->opcode].fmt == BPFVM__FMT_JMP_X && jc->src == in->dst))
        return 0;
    int d = reg_map[in->dst];
    emit_rr(j, 0, 0x31, d, d);                         /* xor d32, d32 */
    int cc = emit_compare(j, i + 1 + o);
    emit_rr(j, BYTE, 0x0f90u + (unsigned)cc, 0, d);    /* setcc d8 */
    return 3 + o;
}

static void emit_alu_slot(bpfvm__jit *j, size_t i);

/* Is *in `mov32/mov64 r, v`? */
static bool is_mov_imm(const bpfvm_insn *in, int r, int32_t v)
{
    return (in->opcode == BPFVM__OP_MOV64_K || in->opcode == BPFVM__OP_MOV32_K) && in->dst == r &&
           in->imm == v;
}

static bool sink_mov(const bpfvm__jit *j, size_t k);
static size_t emit_run_between(bpfvm__jit *j, size_t k);

#define BIT_TEST_SLOTS 9 /* slots from the mov to the jump */

/* clang's bit test of a switch's case cluster, `(1 << B) & M`:
 *     i: mov A, 1;  lsh A, B;  and A, K|M;  jeq|jne A, 0, T
 * lsh and and of one width, the jump of that width (or 64-bit after 32-bit
 * operations, whose result is zero-extended); plain movs and lddws of
 * numbers that write neither A nor B and read no A may come between; no
 * jump lands inside; A is dead after the jump; not blinded, not in a
 * threaded copy (whose steps are single slots). Code: the movs and lddws,
 * then bt M|r11, B (the bit number modulo the width, as lsh masks the
 * count) and jnc|jc T: B's bit of the mask as it was at the and (M written
 * after the and: r11 = the number an lddw before the and gave M, else no
 * such code). */
static size_t emit_bit_test(bpfvm__jit *j, const labels *l, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    int a = in->dst, b = in[1].src;
    if (j->blind_state || j->copying || !is_mov_imm(in, a, 1) || !straight(j, i, 1) ||
        (in[1].opcode != BPFVM__OP_LSH64_X && in[1].opcode != BPFVM__OP_LSH32_X) ||
        in[1].dst != a || b == a)
        return 0;
    bool w64 = in[1].opcode == BPFVM__OP_LSH64_X;
    size_t m = i + 2, and = 0;
    for (; m < j->count && m - i < BIT_TEST_SLOTS && !(j->marks[m] & BPFVM__MARK_LEADER); m++) {
        const bpfvm_insn *x = &j->code[m];
        if (x->opcode == BPFVM__OP_LDDW && x->src == 0 && x->dst != a && x->dst != b &&
            m + 1 < j->count && !(j->marks[m + 1] & BPFVM__MARK_LEADER)) {
            m++;
            continue;
        }
        if (sink_mov(j, m) && x->dst != a && x->dst != b &&
            (bpfvm__ops[x->opcode].fmt == BPFVM__FMT_ALU_K || x->src != a))
            continue;
        if (and || x->dst != a ||
            (x->opcode != (w64 ? BPFVM__OP_AND64_K : BPFVM__OP_AND32_K) &&
             (x->opcode != (w64 ? BPFVM__OP_AND64_X : BPFVM__OP_AND32_X) || x->src == a)))
            break;
        and = m;
    }
    const bpfvm_insn *jc = &j->code[m], *x = &j->code[and];
    if (!and || m >= j->count || m - i >= BIT_TEST_SLOTS || (j->marks[m] & BPFVM__MARK_LEADER) ||
        (jc->opcode != BPFVM__OP_JEQ_K && jc->opcode != BPFVM__OP_JNE_K &&
         (w64 || (jc->opcode != BPFVM__OP_JEQ32_K && jc->opcode != BPFVM__OP_JNE32_K))) ||
        jc->dst != a || jc->imm != 0 || !bpfvm__jit_dead_after(j, m, a))
        return 0;
    int mask = R11;
    uint64_t konst = w64 ? (uint64_t)(int64_t)x->imm : (uint32_t)x->imm;
    if (bpfvm__ops[x->opcode].fmt == BPFVM__FMT_ALU_X) {
        bool known = false, later = false;             /* (bt reads it after the movs) */
        for (size_t k = i + 2; k < m; k += j->code[k].opcode == BPFVM__OP_LDDW ? 2u : 1u) {
            const bpfvm_insn *y = &j->code[k];
            if (k == and || y->dst != x->src)
                continue;
            if (k > and)
                later = true;
            else if ((known = y->opcode == BPFVM__OP_LDDW))
                konst = bpfvm__lddw_value(y);
        }
        if (later && !known)
            return 0;                                  /* (written after the and: r11 = the lddw's) */
        mask = later ? R11 : reg_map[x->src];
    }
    for (size_t k = i + 2; k < m;)
        k += k == and ? 1 : emit_run_between(j, k);
    if (mask == R11)
        emit_mov_imm(j, R11, konst);
    emit_rr(j, w64 ? W : 0u, 0x0fa3, reg_map[b], mask); /* bt mask, b */
    bool eq = jc->opcode == BPFVM__OP_JEQ_K || jc->opcode == BPFVM__OP_JEQ32_K;
    emit_cond_branch(j, l, m, bpfvm__jit_dest(j, m), eq ? CC_AE : CC_B);
    return m + 1 - i;
}

/* Is *in a conditional jump of +1 whose compare reads neither a nor b? */
static bool skip_one(const bpfvm_insn *in, int a, int b)
{
    int fmt = bpfvm__ops[in->opcode].fmt;
    return (fmt == BPFVM__FMT_JMP_K || fmt == BPFVM__FMT_JMP_X) && in->off == 1 && in->dst != a &&
           in->dst != b && (fmt == BPFVM__FMT_JMP_K || (in->src != a && in->src != b));
}

#define FLAGS_MIDDLE 6 /* register operations between the and/or and the test */

/* Two conditions as 0/1 combined and tested (clang's `if (x == K1 || x ==
 * K2)` as `(x != K1) & (x != K2)`, its VLAN test):
 *     i: mov A, 1;  mov B, 1;  jcc_b +1;  mov B, 0;  jcc_a +1;  mov A, 0;
 *        and|or A, B;  up to FLAGS_MIDDLE register operations that write
 *        no A and read no A, nor B before writing it (and `and A, 1`, left
 *        out: A is 0/1);
 *        jeq|jne A, 0, T
 * with B dead after the test or written between, no jump from elsewhere
 * into the slots after i, no budget, no blinding: the two compares jump
 * straight to one of two copies of the operations between, one ending with
 * a jump to where the test goes when A is not 0, the other going on to
 * where it goes when A is 0; each sets A (0 or 1) unless A is dead. */
static size_t emit_flag_test(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    int a = in->dst, b = in[1].dst;
    if (j->metered || j->copying || j->blind_state || i + 8 >= j->count || !is_mov_imm(in, a, 1) ||
        a == b ||
        !is_mov_imm(&in[1], b, 1) || !skip_one(&in[2], a, b) || !is_mov_imm(&in[3], b, 0) ||
        !skip_one(&in[4], a, b) || !is_mov_imm(&in[5], a, 0) ||
        (in[6].opcode != BPFVM__OP_AND64_X && in[6].opcode != BPFVM__OP_AND32_X &&
         in[6].opcode != BPFVM__OP_OR64_X && in[6].opcode != BPFVM__OP_OR32_X) ||
        in[6].dst != a || in[6].src != b)
        return 0;
    bool b_written = false;
    size_t m = i + 7;
    for (; m < j->count && m < i + 7 + FLAGS_MIDDLE; m++) {
        const bpfvm_insn *x = &j->code[m];
        int fmt = bpfvm__ops[x->opcode].fmt;
        unsigned op = BPFVM_OP(bpfvm__ops[x->opcode].code);
        if ((x->opcode == BPFVM__OP_AND64_K || x->opcode == BPFVM__OP_AND32_K) && x->dst == a &&
            x->imm == 1)
            continue;
        if ((fmt != BPFVM__FMT_ALU_K && fmt != BPFVM__FMT_ALU_X && fmt != BPFVM__FMT_NEG &&
             fmt != BPFVM__FMT_END) ||
            op == BPFVM_DIV || op == BPFVM_MOD)
            break;
        bool reads_dst = !(op == BPFVM_MOV && fmt != BPFVM__FMT_NEG && fmt != BPFVM__FMT_END);
        if (x->dst == a || (fmt == BPFVM__FMT_ALU_X && (x->src == a || (x->src == b && !b_written))) ||
            (x->dst == b && reads_dst && !b_written))
            return 0;
        b_written |= x->dst == b;
    }
    const bpfvm_insn *t = &j->code[m];
    if (m >= j->count || (t->opcode != BPFVM__OP_JEQ_K && t->opcode != BPFVM__OP_JNE_K &&
                          t->opcode != BPFVM__OP_JEQ32_K && t->opcode != BPFVM__OP_JNE32_K) ||
        t->dst != a || t->imm != 0 || (j->copy && m >= j->copy->last) ||
        (!b_written && !bpfvm__jit_dead_after(j, m, b)))
        return 0;
    /* only the two +1 jumps land inside (on jcc_a and the and/or); no loop
     * edge, no block copy */
    for (size_t k = i + 1; k <= m; k++)
        if (bpfvm__jit_loop_edge(j, k) ||
            (k == i + 4 || k == i + 6 ? bpfvm__jit_many_in(j, k, 2) : bpfvm__jit_is_target(j, k)))
            return 0;
    for (size_t k = i > 4 ? i - 4 : 0; k <= m; k++)
        if (bpfvm__jit_is_ja_target(j, k) && copyable_block(j, k) != SIZE_MAX &&
            copyable_block(j, k) >= i)
            return 0;
    bool and = BPFVM_OP(bpfvm__ops[in[6].opcode].code) == BPFVM_AND;
    bool jne = t->opcode == BPFVM__OP_JNE_K || t->opcode == BPFVM__OP_JNE32_K;
    /* A = cb and|or ca; the copy emitted first is the one jumping to T:
     * A != 0 for jne, A == 0 for jeq */
    int cb = emit_compare(j, i + 2);
    uint32_t first = emit_jfwd8(j, and ? cb ^ 1 : cb);  /* decided by b: A = 0 (and), 1 (or) */
    int ca = emit_compare(j, i + 4);
    uint32_t second = emit_jfwd8(j, jne ? ca ^ 1 : ca); /* to the copy going on */
    bool first_to_t = and != jne;                      /* b decided A = (T's value) */
    bool keep_a = !bpfvm__jit_dead_after(j, m, a);
    for (int copy = 0; copy < 2; copy++) {
        if (copy == 1)
            patch_jfwd8(j, second);
        if (first_to_t == (copy == 0))
            patch_jfwd8(j, first);
        if (keep_a)
            emit_mov_imm(j, reg_map[a], (uint64_t)(jne == (copy == 0))); /* A = 0 or 1 */
        for (size_t k = i + 7; k < m; k++) {
            const bpfvm_insn *x = &j->code[k];
            if (x->dst == a)
                continue;                              /* and A, 1 */
            if (x->opcode == BPFVM__OP_MOV64_X && k + 1 < m && x[1].opcode == BPFVM__OP_ADD64_K &&
                x[1].dst == x->dst) {
                emit_rm(j, W, 0x8d, reg_map[x->dst], reg_map[x->src], x[1].imm); /* lea d, [s + K] */
                k++;
            } else {
                emit_alu_slot(j, k);
            }
        }
        if (copy == 0) {                               /* jmp T (rel32: the rel8 jumps */
            size_t dest = bpfvm__jit_dest(j, m);       /* over it are no fixups) */
            int kind = bpfvm__jit_slot_ref(j, m, &dest);
            emit_jmp_ref(j, kind, dest);
        }
    }
    if (!falls_to(j, m, m + 1))
        emit_goto_slot(j, -1, m, m + 1);               /* jmp slot m + 1 */
    return m + 1 - i;
}

/* ldx D, [B + off]; add/sub/and/or/xor D, K|R; stx [B + off], D of one
 * size, D not needed afterwards: op size [B + off], K|R. In checked mode the
 * load's check covers the store, as for the separate instructions (not in a
 * loop's copy, whose checks depend on each access). */
static size_t emit_rmw(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i], *a = &in[1], *st = &in[2];
    if (!straight(j, i, 2) || (j->checked && j->copy) || in->dst == in->src)
        return 0;
    const bpfvm__opinfo *ai = &bpfvm__ops[a->opcode], *si = &bpfvm__ops[st->opcode];
    unsigned size = bpfvm__jit_access_size(bpfvm__ops[in->opcode].code), op = BPFVM_OP(ai->code);
    bool k = ai->fmt == BPFVM__FMT_ALU_K;
    if (si->fmt != BPFVM__FMT_STX || bpfvm__jit_access_size(si->code) != size || st->dst != in->src ||
        st->src != in->dst || st->off != in->off ||
        (!k && ai->fmt != BPFVM__FMT_ALU_X) || a->dst != in->dst ||
        (op != BPFVM_ADD && op != BPFVM_SUB && op != BPFVM_AND && op != BPFVM_OR &&
         op != BPFVM_XOR) ||
        (!k && a->src == in->dst) || (k && j->blind_state) ||
        (size == 8 && BPFVM_CLASS(ai->code) != BPFVM_ALU64) || !bpfvm__jit_dead_after(j, i + 2, in->dst))
        return 0;
    emit_access_check(j, i, in->src, in->off, size, 0);
    j->rmw_store = 0;
    unsigned ext = alu_ext(op);
    int base = reg_map[in->src];
    if (!k) {                                          /* op size [B + off], R */
        emit_rm(j, size_flags(size), ext * 8 + (size == 1 ? 0u : 1u), reg_map[a->src], base,
                in->off);
    } else if (size == 1) {                            /* op byte [B + off], imm8 */
        emit_rm(j, 0, 0x80, (int)ext, base, in->off);
        emit1(j, (uint8_t)a->imm);
    } else {
        int32_t v = size == 2 ? (int16_t)a->imm : a->imm;
        emit_rm(j, size_flags(size), is_imm8(v) ? 0x83 : 0x81, (int)ext, base, in->off);
        if (is_imm8(v))
            emit1(j, (uint8_t)v);                      /* op size [B + off], simm8 */
        else if (size == 2)
            emit2(j, (uint16_t)v);                     /* op word [B + off], imm16 */
        else
            emit4(j, (uint32_t)v);                     /* op dword/qword [B + off], imm32 */
    }
    return 3;
}


/* The last slot of the block starting at slot t if it is worth copying: at
 * most 4 register operations (no division) then a conditional jump or exit;
 * else SIZE_MAX. */
static size_t copyable_block(const bpfvm__jit *j, size_t t)
{
    for (size_t e = t; e < j->count && e - t <= 4; e++) {
        const bpfvm__opinfo *info = &bpfvm__ops[j->code[e].opcode];
        if (info->fmt == BPFVM__FMT_JMP_K || info->fmt == BPFVM__FMT_JMP_X ||
            info->fmt == BPFVM__FMT_EXIT)
            return e;
        if ((info->fmt != BPFVM__FMT_ALU_K && info->fmt != BPFVM__FMT_ALU_X &&
             info->fmt != BPFVM__FMT_NEG && info->fmt != BPFVM__FMT_END) ||
            BPFVM_OP(info->code) == BPFVM_DIV || BPFVM_OP(info->code) == BPFVM_MOD)
            break;
    }
    return SIZE_MAX;
}

/* For a jump of slot i to slot t: a copy of the block t..e (no copies inside
 * it), then a jump to the slot after the block unless that comes next. */
static void emit_block_copy(bpfvm__jit *j, const labels *l, size_t i, size_t t, size_t e)
{
    size_t k = t;
    j->copying = 1;
    while (k <= e && !j->err)
        k += emit_insn(j, l, k);
    j->copying = 0;
    if (bpfvm__ops[j->code[e].opcode].fmt != BPFVM__FMT_EXIT && !falls_to(j, i, k))
        emit_goto_slot(j, -1, e, k);                   /* jmp slot after the block */
}

/* ja T, where T starts a short block (copyable_block) and there is no
 * budget: a copy of the block instead of the jump. The usual case is a loop
 * whose test clang put at its top: the copy makes the back edge one jcc. */
static size_t emit_ja_copy(bpfvm__jit *j, const labels *l, size_t i)
{
    size_t t = bpfvm__jit_dest(j, i), e;
    if (j->metered || t == i + 1 || (e = copyable_block(j, t)) == SIZE_MAX)
        return 0;
    emit_block_copy(j, l, i, t, e);
    return 1;
}

/* Is conditional jump slot i one test of a register against a constant
 * among others of it within 4 slots (nothing writing it in between): a
 * switch's dispatch, where each case's jump is seldom taken? */
static bool case_test(const bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    if (bpfvm__ops[in->opcode].fmt != BPFVM__FMT_JMP_K)
        return false;
    for (int dir = -1; dir <= 1; dir += 2)
        for (size_t k = i + (size_t)dir, n = 0; k < j->count && n < 4; k += (size_t)dir, n++) {
            const bpfvm_insn *x = &j->code[k];
            int fmt = bpfvm__ops[x->opcode].fmt;
            if (fmt == BPFVM__FMT_JMP_K && x->dst == in->dst && x->imm != in->imm)
                return true;
            if (x->dst == in->dst && fmt != BPFVM__FMT_JMP_K && fmt != BPFVM__FMT_JMP_X &&
                fmt != BPFVM__FMT_ST && fmt != BPFVM__FMT_STX)
                break;                                 /* (may write it) */
        }
    return false;
}

/* ---- threaded jumps --------------------------------------------------------
 * A jump from slot i to slot t where registers hold constants that decide
 * conditional jumps ahead: a state machine's `state = K; goto loop`, whose
 * loop head compares the state with each case. The jump becomes a copy of
 * the path from t as far as the constants decide jumps, without those jumps
 * and without the slots whose results nothing reads from the path's end on
 * (the character classes clang computes above a lexer's dispatch for only
 * some of its states), then a jump to where the path ends. Conditional jumps
 * the constants do not decide stay in the copy, which goes on along a
 * backward jump (a loop's next trip) and else along the fall-through; the
 * other side leaves the copy for the slot's own code. A select (jcc +1 over
 * a mov) is one step. The copy may leave for the program's own code where a
 * slot's code jumps (that code takes the same path, on which the left out
 * slots' results are dead too). */
#define THREAD_STEPS 96
#define FRAME_TRACKED 512                           /* frame bytes liveness follows */

enum { STEP_PLAIN, STEP_SELECT, STEP_DECIDED, STEP_JA, STEP_TAKEN, STEP_NEXT };

typedef struct thread_path {
    struct {
        uint32_t slot;
        uint8_t kind;                                /* STEP_* */
        bool dead;                                   /* left out */
    } step[THREAD_STEPS];
    size_t n;
    size_t end;                                      /* the slot the path ends at */
    bpfvm__consts end_c;                             /* the constants there */
    bpfvm__consts exit_c[2];                         /* at its undecided jumps */
} thread_path;

/* Is slot k inside a versioned loop (whose copies and guards the path must
 * not enter)? (true without memory for the table of them) */
static bool in_versioned(bpfvm__jit *j, size_t k)
{
    if (j->nloops == 0)
        return false;
    if (!j->in_loop) {
        if (!(j->in_loop = bpfvm__alloc(j->vm, j->count))) {
            j->err = BPFVM_ENOMEM;
            return true;
        }
        memset(j->in_loop, 0, j->count);
        for (size_t m = 0; m < j->nloops; m++)
            memset(j->in_loop + j->loops[m].head, 1, j->loops[m].last - j->loops[m].head + 1);
    }
    return j->in_loop[k] != 0;
}

/* Is there threading work left (each compile looks at 16 slots per slot of
 * the program, plus 65536, at most: a bound on the compile's time whatever
 * the program)? */
static bool thread_budget(const bpfvm__jit *j)
{
    return j->searched <= 16 * j->count + 65536 && j->nthreaded <= 4 * j->count + 1024;
}

/* Does slot k - 1 go on to slot k? */
static bool runs_on(const bpfvm__jit *j, size_t k)
{
    if (k == 0)
        return false;
    return (k >= 2 && j->code[k - 2].opcode == BPFVM__OP_LDDW) ||
           bpfvm__falls_through(bpfvm__ops[j->code[k - 1].opcode].fmt);
}

/* The first of the slots up to i that run one after the other (no jump
 * lands between them; 32 at most). */
static size_t stretch(const bpfvm__jit *j, size_t i)
{
    size_t k = i;
    while (i - k < 32 && !bpfvm__jit_is_target(j, k) && runs_on(j, k))
        k--;
    return k;
}

/* The constants registers hold after slot i, given c at slot k (a stretch's
 * first slot), from the movs in between. Not the mov of a select (`jcc +1;
 * mov` or `jcc T; mov; ja T`): its code is a conditional move. */
static bpfvm__consts consts_from(bpfvm__jit *j, size_t k, size_t i, bpfvm__consts c)
{
    j->searched += i - k + 1;
    for (; k <= i; k++) {
        const bpfvm_insn *in = &j->code[k];
        uint16_t w = (uint16_t)bpfvm__jit_may_write(j, k);
        if (k > 0 && bpfvm__jit_select(j, k - 1))
            c.known &= (uint16_t)~w;                 /* (a select's mov) */
        else
            bpfvm__consts_track(&c, in->opcode, in, w);
        k += in->opcode == BPFVM__OP_LDDW;
    }
    return c;
}

/* The constants registers hold after slot i: from the movs since the start
 * of its stretch and, where jumps land there, what every way in agrees on
 * (each from its own stretch; none at the program's or a callback's entry
 * or a function's, nor with more than 16 ways in). */
static bpfvm__consts consts_at(bpfvm__jit *j, size_t i)
{
    static const bpfvm__consts none = { 0, { 0 } };
    size_t k = stretch(j, i), n = 0;
    const uint32_t *from = bpfvm__jit_is_target(j, k) ? bpfvm__jit_preds(j, k, &n) : NULL;
    bool on = runs_on(j, k);
    if (!from || k == 0 || bpfvm__callback_index(j->vm, k) >= 0 || n + on > 16 || i - k >= 32)
        return consts_from(j, k, i, none);
    bpfvm__consts c = on ? consts_from(j, stretch(j, k - 1), k - 1, none) : none;
    for (size_t m = 0; m < n; m++) {
        if (j->code[from[m]].opcode == BPFVM__OP_CALL_LOCAL)
            return consts_from(j, k, i, none);
        bpfvm__consts d = consts_from(j, stretch(j, from[m]), from[m], none);
        if (m == 0 && !on)
            c = d;
        else
            bpfvm__consts_meet(&c, &d);
    }
    return consts_from(j, k, i, c);
}

/* The path from slot k (step n) with the constants c, up to the last jump
 * target it reaches through a decided jump, or a ja after one with no
 * undecided jump between (decided: such a jump is on the path so far): the
 * number of steps (kept: that of the path so far), p->end set. The path
 * only leaves to jump targets, whose code is never inside the code of
 * several slots emitted together. At a jump the constants do not decide
 * (two at most), the path goes on along the side where one is decided
 * ahead, the jump side first. */
static size_t thread_walk(bpfvm__jit *j, size_t k, bpfvm__consts c, thread_path *p, size_t n,
                          size_t kept, int undecided, bool decided)
{
    while (n < THREAD_STEPS && k < j->count && !in_versioned(j, k)) {
        const bpfvm_insn *in = &j->code[k];
        int fmt = bpfvm__ops[in->opcode].fmt;
        size_t next = k + 1, d;
        j->searched++;
        int kind, taken;
        switch (fmt) {
        case BPFVM__FMT_ALU_K: case BPFVM__FMT_ALU_X: case BPFVM__FMT_NEG: case BPFVM__FMT_END:
        case BPFVM__FMT_LDX: case BPFVM__FMT_ST: case BPFVM__FMT_STX:
            kind = STEP_PLAIN;
            bpfvm__consts_track(&c, in->opcode, in, (uint16_t)bpfvm__jit_may_write(j, k));
            break;
        case BPFVM__FMT_JA:
            kind = STEP_JA;
            next = bpfvm__jit_dest(j, k);
            break;
        case BPFVM__FMT_JMP_K: case BPFVM__FMT_JMP_X:
            d = bpfvm__jit_dest(j, k);
            if ((taken = bpfvm__consts_decide(&c, in->opcode, in)) >= 0) {
                kind = STEP_DECIDED;
                next = taken ? d : k + 1;
            } else if (d == k + 2 && (j->code[k + 1].opcode == BPFVM__OP_MOV64_K ||
                                      j->code[k + 1].opcode == BPFVM__OP_MOV32_K ||
                                      j->code[k + 1].opcode == BPFVM__OP_MOV64_X ||
                                      j->code[k + 1].opcode == BPFVM__OP_MOV32_X)) {
                kind = STEP_SELECT;                  /* jcc +1; mov D, V */
                c.known &= (uint16_t)~(1u << j->code[k + 1].dst);
                next = k + 2;
            } else {
                if (undecided == 2)
                    return kept;
                p->step[n].slot = (uint32_t)k;
                p->step[n].dead = false;
                p->exit_c[undecided] = c;
                for (int side = !bpfvm__jit_is_target(j, k + 1); side < 2; side++) {
                    p->step[n].kind = side ? STEP_NEXT : STEP_TAKEN;
                    size_t got = thread_walk(j, side ? k + 1 : d, c, p, n + 1, kept, undecided + 1,
                                             false);
                    if (got > kept)
                        return got;
                }
                return kept;
            }
            break;
        default:
            return kept;
        }
        p->step[n].slot = (uint32_t)k;
        p->step[n].kind = (uint8_t)kind;
        p->step[n].dead = false;
        n++;
        decided |= kind == STEP_DECIDED;
        if (decided && kind != STEP_PLAIN && kind != STEP_SELECT && bpfvm__jit_is_target(j, next)) {
            kept = n;
            p->end = next;
            p->end_c = c;
        }
        k = next;
    }
    return kept;
}

/* Is slot k an access to the frame at a constant offset liveness follows
 * (frames of FRAME_TRACKED bytes at most)? *lo, *hi: its bytes as offsets
 * into the tracked window. */
static bool frame_bytes(const bpfvm__jit *j, size_t k, int *lo, int *hi)
{
    const bpfvm_insn *in = &j->code[k];
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    unsigned size = bpfvm__jit_access_size(info->code);
    int breg = info->fmt == BPFVM__FMT_LDX ? in->src : in->dst;
    if (j->stack_size > FRAME_TRACKED || !bpfvm__jit_in_frame(j, breg, in->off, size))
        return false;
    *lo = in->off + (int)FRAME_TRACKED;
    *hi = *lo + (int)size;
    return true;
}

static bool any_bit(const uint64_t *m, int lo, int hi)
{
    for (int b = lo; b < hi; b++)
        if (m[b >> 6] >> (b & 63) & 1)
            return true;
    return false;
}

static void set_bits(uint64_t *m, int lo, int hi, bool on)
{
    for (int b = lo; b < hi; b++) {
        uint64_t bit = (uint64_t)1 << (b & 63);
        m[b >> 6] = on ? m[b >> 6] | bit : m[b >> 6] & ~bit;
    }
}

/* What may be read from slot k on (c: the constants there, or NULL):
 * registers (returned) and, in *frame, the bytes of the path's frame stores
 * (five kinds at most followed, the others taken as read). */
static unsigned live_from(bpfvm__jit *j, const thread_path *p, size_t k, const bpfvm__consts *c,
                          uint64_t *frame)
{
    bpfvm__jit_bytes fr[5] = { { 0, 0 } };
    int nfr = 0, lo, hi;
    for (size_t n = 0; n < p->n; n++) {
        const bpfvm_insn *in = &j->code[p->step[n].slot];
        int fmt = bpfvm__ops[in->opcode].fmt, f = 0;
        if ((fmt != BPFVM__FMT_ST && fmt != BPFVM__FMT_STX) ||
            !frame_bytes(j, p->step[n].slot, &lo, &hi))
            continue;
        while (f < nfr && (fr[f].off != in->off || fr[f].size != (unsigned)(hi - lo)))
            f++;
        if (f == nfr && nfr < 5)
            fr[nfr++] = (bpfvm__jit_bytes){ in->off, (unsigned)(hi - lo) };
        else if (f == nfr)
            set_bits(frame, lo, hi, true);           /* (a sixth kind: read) */
    }
    unsigned live = bpfvm__jit_live_from(j, k, c, fr, nfr);
    for (int f = 0; f < nfr; f++)
        if (live >> (11 + f) & 1)
            set_bits(frame, fr[f].off + (int)FRAME_TRACKED,
                     fr[f].off + (int)FRAME_TRACKED + (int)fr[f].size, true);
    return live & 0x3ffu;
}

/* Mark the steps whose results nothing reads (backward along the path). */
static void thread_live(bpfvm__jit *j, thread_path *p)
{
    uint64_t frame[FRAME_TRACKED / 64] = { 0 };
    unsigned live = live_from(j, p, p->end, &p->end_c, frame);
    for (size_t n = p->n; n-- > 0;) {
        size_t k = p->step[n].slot;
        const bpfvm_insn *in = &j->code[k];
        int fmt = bpfvm__ops[in->opcode].fmt, lo, hi;
        unsigned use, def;
        bpfvm__jit_use_def(j, k, &use, &def);
        switch (p->step[n].kind) {
        case STEP_JA:
            break;
        case STEP_DECIDED:                           /* (read where the copy leaves early) */
            live |= use;
            break;
        case STEP_TAKEN: case STEP_NEXT:
            live |= live_from(j, p, p->step[n].kind == STEP_TAKEN ? k + 1 : bpfvm__jit_dest(j, k),
                              NULL, frame) | use;
            break;
        case STEP_SELECT: {                          /* reads D when the jump is taken */
            unsigned muse, mdef;
            bpfvm__jit_use_def(j, k + 1, &muse, &mdef);
            if (!(live & mdef))
                p->step[n].dead = true;
            else
                live |= use | muse;
            break;
        }
        default:
            if (fmt == BPFVM__FMT_ST || fmt == BPFVM__FMT_STX) {
                bool tracked = frame_bytes(j, k, &lo, &hi);
                if (tracked && !any_bit(frame, lo, hi)) {
                    p->step[n].dead = true;
                } else {
                    if (tracked)
                        set_bits(frame, lo, hi, false);
                    live |= use;
                }
            } else if (!(live & def) &&
                       (fmt != BPFVM__FMT_LDX ||
                        bpfvm__jit_in_frame(j, in->src, in->off,
                                            bpfvm__jit_access_size(bpfvm__ops[in->opcode].code)))) {
                p->step[n].dead = true;              /* (loads: only from the frame) */
            } else {
                live = (live & ~def) | use;
                if (fmt == BPFVM__FMT_LDX && frame_bytes(j, k, &lo, &hi))
                    set_bits(frame, lo, hi, true);
            }
        }
    }
}

/* The path from slot t with the constants c (NULL: those after slot i, the
 * jump's), and what it leaves out. */
static bool thread_plan(bpfvm__jit *j, size_t i, size_t t, const bpfvm__consts *c, thread_path *p)
{
    if (!bpfvm__jit_many_in(j, t, 3) || !thread_budget(j) || in_versioned(j, i) ||
        (p->n = thread_walk(j, t, c ? *c : consts_at(j, i), p, 0, 0, 0, false)) == 0)
        return false;
    thread_live(j, p);
    j->nthreaded += p->n;
    return true;
}

/* The copy of path p (from a jump of slot i), then a jump to its end. Where
 * the copy leaves at an undecided jump, it leaves for a copy of the path from
 * there (depth 0 only), if that is threaded. False if emit_insn took slots
 * together across the path's shape. */
static bool emit_path(bpfvm__jit *j, const labels *l, size_t i, const thread_path *p, int depth)
{
    bool ok = true;
    int exits = 0;
    /* slot by slot (a select's two may be emitted together or apart): the
     * slots emit_insn takes must be the path's next ones */
    for (size_t n = 0, part = 0; n < p->n && ok;) {
        size_t k = p->step[n].slot + part;
        int kind = p->step[n].kind;
        if (p->step[n].dead || kind == STEP_DECIDED || kind == STEP_JA) {
            n++;
            part = 0;
        } else if (kind == STEP_TAKEN || kind == STEP_NEXT) {
            int c = emit_compare(j, k);
            size_t x = kind == STEP_TAKEN ? k + 1 : bpfvm__jit_dest(j, k);
            int leave = kind == STEP_TAKEN ? c ^ 1 : c;
            thread_path q;
            if (depth == 0 && thread_plan(j, k, x, &p->exit_c[exits], &q)) {
                size_t skip = j->nfixups;
                emit_jcc_ref(j, leave ^ 1, BPFVM__FIX_ABS, 0); /* j!leave over the copy */
                ok = emit_path(j, l, k, &q, 1);
                if (skip < j->nfixups)
                    j->fixups[skip].index = here(j);
            } else {
                emit_goto_slot(j, leave, k, x);
            }
            exits++;
            n++;
        } else {
            size_t used = emit_insn(j, l, k);
            for (size_t u = 0; u < used && ok; u++) {
                ok = n < p->n && p->step[n].slot + part == k + u &&
                     (p->step[n].kind == STEP_PLAIN || p->step[n].kind == STEP_SELECT);
                if (ok && ++part == (p->step[n].kind == STEP_SELECT ? 2u : 1u)) {
                    n++;
                    part = 0;
                }
            }
        }
    }
    emit_goto_slot(j, -1, i, p->end);                /* jmp where the path ends */
    return ok;
}

/* The end of the block t..e that conditional jump slot i becomes a copy of
 * (emit_cond_branch), SIZE_MAX if none. */
static size_t block_copied(const bpfvm__jit *j, size_t i, size_t t)
{
    size_t e;
    if (j->metered || j->copying || t > i || (e = copyable_block(j, t)) == SIZE_MAX ||
        case_test(j, i) || bpfvm__jit_many_in(j, t, 3))
        return SIZE_MAX;
    return e;
}

/* ---- movs sunk into the taken way ------------------------------------------
 *
 * clang sets the next state before each test of a compare chain (fsm's
 * `r8 = 2; r9 = 0; if w7 == 48 goto loop`, the next test setting r8 and r9
 * again): movs only the taken way reads. A run of plain movs (no sign
 * extension) right before a conditional jump, none of whose destinations
 * the jump reads or the fall-through reads before writing again, no jump
 * landing among them or on the jump, which is no select and no jump over a
 * ja, and which becomes a threaded copy (thread_plan says so) or a block
 * copy, has its code at the start of that copy (where threading gives up
 * after all: between the compare and the jump, with moves that leave the
 * flags alone). Not with a budget, blinding or in a copy. */

static int comb_kind(bpfvm__jit *j, size_t i);

static bool sink_mov(const bpfvm__jit *j, size_t k)
{
    int op = j->code[k].opcode;
    return op == BPFVM__OP_MOV64_K || op == BPFVM__OP_MOV32_K ||
           ((op == BPFVM__OP_MOV64_X || op == BPFVM__OP_MOV32_X) && bpfvm__ops[op].value == 0);
}

/* At plain mov slot i: are slots i .. m - 1 such movs before conditional
 * jump m (at most four)? Then j->sunk notes them (true). */
static bool sink_plan(bpfvm__jit *j, size_t i)
{
    size_t m = i;
    if (j->metered || j->copying || j->copy || j->blind_state)
        return false;
    while (m < j->count && m - i < 4 && sink_mov(j, m))
        m++;
    if (m >= j->count || !(bpfvm__ops[j->code[m].opcode].fmt == BPFVM__FMT_JMP_K ||
                           bpfvm__ops[j->code[m].opcode].fmt == BPFVM__FMT_JMP_X))
        return false;
    const bpfvm_insn *jc = &j->code[m];
    bool x = bpfvm__ops[jc->opcode].fmt == BPFVM__FMT_JMP_X;
    size_t t = bpfvm__jit_dest(j, m);
    if (t == m + 1 || select_here(j, m) || over_ja(j, m))
        return false;                                  /* (emitted otherwise) */
    bool block = block_copied(j, m, t) != SIZE_MAX;
    if (!block && !bpfvm__jit_many_in(j, t, 3))
        return false;                                  /* (no copy where the jump goes) */
    for (size_t k = i; k < m; k++) {
        int d = j->code[k].dst;
        if ((j->marks[k + 1] & BPFVM__MARK_LEADER) || d == jc->dst || (x && d == jc->src) ||
            comb_kind(j, k) != 0 /* COMB_PLAIN */ || !bpfvm__jit_dead_from(j, m + 1, d))
            return false;
    }
    thread_path p;                                     /* (threading it asks the same) */
    if (!block && !thread_plan(j, m, t, NULL, &p))
        return false;
    j->sunk.first = (uint32_t)i;
    j->sunk.jcc = (uint32_t)m;
    return true;
}

/* The movs of slots first .. jcc - 1 (sink_plan), leaving the flags alone. */
static void emit_sunk(bpfvm__jit *j, size_t first, size_t jcc)
{
    for (size_t k = first; k < jcc; k++)
        emit_mov_keep_flags(j, &j->code[k], reg_map[j->code[k].dst]);
}

/* Do the slots from k run straight into an exit (register operations and
 * loads only, 32 at most)? */
static bool ends_in_exit(const bpfvm__jit *j, size_t k)
{
    for (size_t n = 0; k < j->count && n < 32; n++, k++) {
        int fmt = bpfvm__ops[j->code[k].opcode].fmt;
        if (fmt == BPFVM__FMT_EXIT)
            return true;
        if (fmt != BPFVM__FMT_ALU_K && fmt != BPFVM__FMT_ALU_X && fmt != BPFVM__FMT_LDX &&
            fmt != BPFVM__FMT_NEG && fmt != BPFVM__FMT_END)
            return false;
    }
    return false;
}

/* The copy of path p from slot i, after the movs of slots sunk .. i - 1
 * (UINT32_MAX: none) that only this way reads. False (nothing emitted) if
 * emit_path gives up. */
static bool emit_copy(bpfvm__jit *j, const labels *l, size_t i, const thread_path *p, uint32_t sunk)
{
    size_t len = j->len, nstubs = j->nstubs, nfixups = j->nfixups, rmw = j->rmw_store;
    if (sunk != UINT32_MAX)
        emit_sunk(j, sunk, i);
    j->copying = 2;
    j->rmw_store = 0;
    bool ok = emit_path(j, l, i, p, 0);
    j->copying = 0;
    j->rmw_store = rmw;
    if (!ok) {
        j->len = len;
        j->nstubs = nstubs;
        j->nfixups = nfixups;
    }
    return ok;
}

/* A jcc's copy placed out of line: its path, the jump's target and the
 * first of the movs sunk into it (UINT32_MAX: none). */
typedef struct out_copy {
    thread_path p;
    uint32_t t, sunk;
} out_copy;

/* Keep c for the stub; its number, or SIZE_MAX without memory. */
static size_t keep_out_copy(bpfvm__jit *j, const out_copy *c)
{
    if (j->nthreads_out == j->out_copies_cap) {
        size_t n = j->out_copies_cap ? 2 * j->out_copies_cap : 16;
        void *q = j->err ? NULL : bpfvm__realloc(j->vm, j->out_copies, n * sizeof(*c));
        if (!q) {
            j->err = j->err ? j->err : BPFVM_ENOMEM;
            return SIZE_MAX;
        }
        j->out_copies = q;
        j->out_copies_cap = n;
    }
    ((out_copy *)j->out_copies)[j->nthreads_out] = *c;
    return j->nthreads_out++;
}

/* Slot i jumps to slot t (cc >= 0: a jcc whose flags are set; -1: ja or the
 * fall-through of a slot that is no jump): the threaded copy instead, if the
 * constants after slot i decide a jump on the path. A jcc's copy goes out of
 * line (a BPFVM__STUB_THREAD after the program), so that the jcc's other way,
 * the one a state machine's compare chain takes for most bytes, goes on
 * without a taken jump; not where that other way runs straight into an exit
 * (a loop's last test, whose copy is the way it goes on). */
static bool emit_thread(bpfvm__jit *j, const labels *l, size_t i, size_t t, int cc)
{
    out_copy c;
    if (j->metered || j->copying || j->copy || !thread_plan(j, i, t, NULL, &c.p))
        return false;
    c.t = (uint32_t)t;
    c.sunk = cc >= 0 && j->sunk.jcc == i ? j->sunk.first : UINT32_MAX;
    if (cc >= 0 && !ends_in_exit(j, i + 1)) {
        size_t k = keep_out_copy(j, &c);
        if (k == SIZE_MAX)
            return false;
        bpfvm__jit_stub st = { BPFVM__STUB_THREAD, 0, 0, 0, 0, (uint32_t)i, (uint32_t)k, 0 };
        emit_jcc_ref(j, cc, BPFVM__FIX_STUB, bpfvm__jit_add_stub(j, &st)); /* jcc copy */
    } else {
        size_t len = j->len, nfixups = j->nfixups;
        if (cc >= 0)
            emit_goto_slot(j, cc ^ 1, i, i + 1);     /* j!cc slot i + 1 */
        if (!emit_copy(j, l, i, &c.p, c.sunk)) {     /* back to the jump */
            j->len = len;
            j->nfixups = nfixups;
            return false;
        }
    }
    j->sunk.jcc = c.sunk != UINT32_MAX ? 0 : j->sunk.jcc;
    j->nthreads++;
    return true;
}

/* The jump of conditional jump slot i (flags set) to slot t. Backward to a
 * short block without a budget: j!cc slot i + 1, then a copy of the block,
 * so the loop goes on without a taken jump to the block. Not where the
 * jump is likely not taken (which the copy would make a taken jump over
 * it): a case of a switch, or one of three or more jumps to the block (a
 * loop's `continue` after checks, as in packet parsers). */
static void emit_cond_branch(bpfvm__jit *j, const labels *l, size_t i, size_t t, int cc)
{
    size_t e, first = j->sunk.jcc == i ? j->sunk.first : SIZE_MAX;
    if (emit_thread(j, l, i, t, cc))
        return;
    j->sunk.jcc = first != SIZE_MAX ? 0 : j->sunk.jcc;
    if ((e = block_copied(j, i, t)) == SIZE_MAX) {
        if (first != SIZE_MAX)
            emit_sunk(j, first, i);                    /* between the compare and the jump */
        emit_branch(j, i, t, cc);
        return;
    }
    emit_goto_slot(j, cc ^ 1, i, i + 1);               /* j!cc slot i + 1 */
    if (first != SIZE_MAX)
        emit_sunk(j, first, i);
    emit_block_copy(j, l, i, t, e);
}

static void emit_cond_jump(bpfvm__jit *j, const labels *l, size_t i)
{
    size_t t = bpfvm__jit_dest(j, i);
    if (t == i + 1)
        return;
    emit_cond_branch(j, l, i, t, emit_compare(j, i));
}

/* Is register r below 2^32 when slot i - 1 goes on to slot i? Found by
 * looking back for the instruction that wrote it, through register moves: a
 * 32-bit ALU operation or load, a byte-order conversion to 16 or 32 bits, a
 * shift right by 32 or more, an and with a non-negative immediate (v1's
 * zero-extension `lsh 32; rsh 32` and masks). In the block (no jump lands
 * in between, 16 slots at most); with joins, also across a slot one jump
 * alone lands on, from that jump (32 slots at most). */
static bool written_below_2_32(bpfvm__jit *j, size_t i, int r, bool joins)
{
    for (size_t at = i, steps = 0; steps < (joins ? 32u : 16u); steps++) {
        if (steps > 0 && bpfvm__jit_is_target(j, at)) {
            size_t n = 0;                            /* (registers on entry to slot at) */
            const uint32_t *from = joins ? bpfvm__jit_preds(j, at, &n) : NULL;
            int fmt = from && n == 1 ? bpfvm__ops[j->code[from[0]].opcode].fmt : -1;
            if ((fmt != BPFVM__FMT_JMP_K && fmt != BPFVM__FMT_JMP_X && fmt != BPFVM__FMT_JA &&
                 fmt != BPFVM__FMT_JA32) || runs_on(j, at))
                return false;
            at = from[0];                            /* the same on entry to the jump */
            continue;
        }
        if (at == 0)
            return false;
        size_t k = --at;
        const bpfvm_insn *in = &j->code[k];
        const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
        if (k > 0 && bpfvm__ops[in[-1].opcode].fmt == BPFVM__FMT_LDDW)
            return false; /* the second slot of an lddw */
        if (info->fmt == BPFVM__FMT_ST || info->fmt == BPFVM__FMT_STX ||
            info->fmt == BPFVM__FMT_JMP_K || info->fmt == BPFVM__FMT_JMP_X)
            continue;
        if (info->fmt != BPFVM__FMT_ALU_K && info->fmt != BPFVM__FMT_ALU_X &&
            info->fmt != BPFVM__FMT_NEG && info->fmt != BPFVM__FMT_END &&
            info->fmt != BPFVM__FMT_LDX)
            return false; /* calls, atomics, lddw, ja */
        if (in->dst != r)
            continue;
        if (in->opcode == BPFVM__OP_MOV64_X) {
            r = in->src;
            continue;
        }
        return (BPFVM_CLASS(info->code) == BPFVM_ALU && info->fmt != BPFVM__FMT_END) ||
               (info->fmt == BPFVM__FMT_END && (in->imm == 16 || in->imm == 32)) ||
               in->opcode == BPFVM__OP_LDXW || in->opcode == BPFVM__OP_LDXH ||
               in->opcode == BPFVM__OP_LDXB ||
               (in->opcode == BPFVM__OP_RSH64_K && (in->imm & 63) >= 32) ||
               (in->opcode == BPFVM__OP_AND64_K && in->imm >= 0);
    }
    return false;
}

/* Is register r below 2^32 on entry to slot i (no jump lands on it)? */
static bool below_2_32(bpfvm__jit *j, size_t i, int r)
{
    return !bpfvm__jit_is_target(j, i) && written_below_2_32(j, i, r, false);
}

/* 64-bit unsigned division or modulo by a constant below 2^31 of a value
 * below 2^32: the 32-bit sequence (quotient and remainder fit 32 bits). */
static size_t emit_narrow_div(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    if (j->blind_state || in->imm <= 0 || (in->imm & (in->imm - 1)) == 0 ||
        !below_2_32(j, i, in->dst))
        return 0;
    emit_udiv32_const(j, in->opcode == BPFVM__OP_MOD64_K, reg_map[in->dst], (uint32_t)in->imm);
    return 1;
}

/* One unsigned 64-bit `div D` of N (host registers; D is neither rax nor
 * rdx; N may be rax) leaving the quotient in Q and N - remainder in P
 * (either may be -1: not wanted) and the remainder in R (R may be N, no
 * other may be equal, none is rax or rdx);
 * D = 0 gives Q = 0, P = 0, R = N. rax and rdx (r0 and r2) are put back
 * unless dead after slot `last`: rax through rdi, not the machine stack. */
static void emit_udivrem(bpfvm__jit *j, size_t last, int N, int D, int Q, int P, int R, bool safe)
{
    bool keep_rax = !bpfvm__jit_dead_after(j, last, 0), keep_rdx = !bpfvm__jit_dead_after(j, last, 2);
    int n = N == RAX ? RDI : N;                        /* N after the division */
    uint32_t p_zero = 0;
    if (!safe) {                                       /* (not 0: bpfvm__jit_bounds) */
        emit_rr(j, W, 0x85, D, D);                     /* test D, D */
        p_zero = emit_jfwd8(j, CC_E);                  /* jz zero */
    }
    if (keep_rax || N == RAX)
        emit_mov(j, W, RDI, RAX);                      /* mov rdi, rax */
    if (keep_rdx)
        emit_mov(j, W, R11, RDX);                      /* mov r11, rdx */
    if (N != RAX)
        emit_mov(j, W, RAX, N);                        /* mov rax, N */
    emit_mov_imm(j, RDX, 0);                           /* xor edx, edx */
    emit_rr(j, W, 0xf7, 6, D);                         /* div D */
    if (P >= 0) {
        emit_mov(j, W, P, n);                          /* mov P, N */
        emit_rr(j, W, 0x29, RDX, P);                   /* sub P, rdx */
    }
    if (Q >= 0)
        emit_mov(j, W, Q, RAX);                        /* mov Q, rax */
    emit_mov(j, W, R, RDX);                            /* mov R, rdx */
    if (keep_rdx)
        emit_mov(j, W, RDX, R11);                      /* mov rdx, r11 */
    if (keep_rax)
        emit_mov(j, W, RAX, RDI);                      /* mov rax, rdi */
    if (safe)
        return;
    uint32_t p_done = emit_jfwd8(j, -1);               /* jmp done */
    patch_jfwd8(j, p_zero);                            /* zero: */
    if (Q >= 0)
        emit_mov_imm(j, Q, 0);                         /* xor Q32, Q32 */
    if (P >= 0)
        emit_mov_imm(j, P, 0);                         /* xor P32, P32 */
    if (R != N)
        emit_mov(j, W, R, N);                          /* mov R, N */
    patch_jfwd8(j, p_done);                            /* done: */
}

/* clang's 64-bit `N % D` with a register D as one division whose remainder
 * is R, none of the registers r0 or r2 (rax and rdx, which it uses) but N
 * (may be r0):
 *   Q = N; Q /= D; Q *= D; R = N; R -= Q        Q = N - R afterwards
 *   Q = N; Q /= D; P = Q; P *= D; R = N; R -= P  (`N / D` kept too) the
 *                                               quotient in Q, P = N - R
 * Q or P is left out where dead. */
static size_t emit_divrem(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    bool quot = i + 5 < j->count && in[2].opcode == BPFVM__OP_MOV64_X && in[2].src == in->dst;
    size_t k = quot ? 5 : 4;
    if (!straight(j, i, k))
        return 0;
    const bpfvm_insn *m = &in[k - 2];                  /* the multiplication */
    int q = in->dst, n = in->src, d = in[1].src, p = m->dst, r = in[k].dst;
    unsigned regs = 1u << q | 1u << n | 1u << d | 1u << p;
    if (in[1].opcode != BPFVM__OP_DIV64_X || in[1].dst != q ||
        m->opcode != BPFVM__OP_MUL64_X || m->src != d ||
        in[k - 1].opcode != BPFVM__OP_MOV64_X || in[k - 1].src != n ||
        in[k].opcode != BPFVM__OP_SUB64_X || in[k].src != p || (quot ? in[2].dst != p : p != q) ||
        __builtin_popcount(regs) != (quot ? 4 : 3) || n == 2 ||
        ((1u << q | 1u << d | 1u << p | 1u << r) & 5u) ||
        r == q || r == d || r == p)
        return 0;
    bool keep_p = !bpfvm__jit_dead_after(j, i + k, p);
    emit_udivrem(j, i + k, reg_map[n], reg_map[d], quot ? reg_map[q] : -1,
                 keep_p ? reg_map[p] : -1, reg_map[r], (j->marks[i + 1] & BPFVM__MARK_PROVEN) != 0);
    return k + 1;
}

/* Q = N; Q /= K; Q *= K; N -= Q (clang's unsigned `N % K` by a constant,
 * 64 or 32 bit, Q dead after): N %= K, which is the same for every K (by 0:
 * N, 32-bit zero-extended) and needs no copy of N. */
static size_t emit_modconst(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    bool w = in->opcode == BPFVM__OP_MOV64_X;
    if (!straight(j, i, 3) || in->dst == in->src ||
        in[1].opcode != (w ? BPFVM__OP_DIV64_K : BPFVM__OP_DIV32_K) ||
        in[2].opcode != (w ? BPFVM__OP_MUL64_K : BPFVM__OP_MUL32_K) ||
        in[3].opcode != (w ? BPFVM__OP_SUB64_X : BPFVM__OP_SUB32_X) ||
        in[1].dst != in->dst || in[2].dst != in->dst || in[1].imm != in[2].imm ||
        in[3].dst != in->src || in[3].src != in->dst || !bpfvm__jit_dead_after(j, i + 3, in->dst))
        return 0;
    int32_t k = in[1].imm;
    int n = reg_map[in->src];
    if (w && !j->blind_state && k > 0 && (k & (k - 1)) && below_2_32(j, i, in->src))
        emit_udiv32_const(j, true, n, (uint32_t)k);    /* a value below 2^32: 32-bit */
    else
        emit_divmod(j, (uint8_t)((w ? BPFVM_ALU64 : BPFVM_ALU) | BPFVM_K | BPFVM_MOD), false, n,
                    n, k, false);
    return 4;
}

static size_t emit_mem_run(bpfvm__jit *j, size_t i);
static size_t emit_gather(bpfvm__jit *j, size_t i);
static size_t emit_comb(bpfvm__jit *j, size_t i, int kind);
static size_t emit_fused_planned(bpfvm__jit *j, const labels *l, size_t i);

/* mov d, s; and d, 0xff / 0xffff (either width each), nothing jumping onto
 * the and, no jump on d after it (it could take the flags of the and, see
 * flags_from_previous): movzx d32, s8 / s16. */
static size_t emit_movzx(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i], *a = &in[1];
    if (!straight(j, i, 1) || (a->opcode != BPFVM__OP_AND64_K && a->opcode != BPFVM__OP_AND32_K) ||
        a->dst != in->dst || (a->imm != 0xff && a->imm != 0xffff))
        return 0;
    if (i + 2 < j->count) {
        int fmt = bpfvm__ops[j->code[i + 2].opcode].fmt;
        if ((fmt == BPFVM__FMT_JMP_K || fmt == BPFVM__FMT_JMP_X) && j->code[i + 2].dst == in->dst)
            return 0;
    }
    bool b = a->imm == 0xff;
    emit_rr(j, b ? BYTE : 0u, b ? 0x0fb6 : 0x0fb7, reg_map[in->dst], reg_map[in->src]);
    return 2;
}

/* mov t, x; rsh t, w - k; lsh x, k; or x, t (or lsh t, k; rsh x, w - k),
 * all of one width w (64 or 32), 0 < k < w, t not x, nothing jumping onto
 * the slots after the mov, no jump on x right after (it could take the
 * flags of the or, see flags_from_previous), not blinded (k would show):
 * rol x, k - after mov t, x; shr/shl t, n only when t is read afterwards. */
static size_t emit_rotate(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i], *a = &in[1], *b = &in[2], *o = &in[3];
    bool w64 = in->opcode == BPFVM__OP_MOV64_X;
    int lsh = w64 ? BPFVM__OP_LSH64_K : BPFVM__OP_LSH32_K;
    int rsh = w64 ? BPFVM__OP_RSH64_K : BPFVM__OP_RSH32_K;
    if (j->blind_state || !straight(j, i, 3) || in->dst == in->src || a->dst != in->dst ||
        b->dst != in->src || o->opcode != (w64 ? BPFVM__OP_OR64_X : BPFVM__OP_OR32_X) ||
        o->dst != in->src || o->src != in->dst ||
        !((a->opcode == rsh && b->opcode == lsh) || (a->opcode == lsh && b->opcode == rsh)) ||
        a->imm <= 0 || b->imm <= 0 || a->imm + b->imm != (w64 ? 64 : 32))
        return 0;
    if (i + 4 < j->count) {
        int fmt = bpfvm__ops[j->code[i + 4].opcode].fmt;
        if ((fmt == BPFVM__FMT_JMP_K || fmt == BPFVM__FMT_JMP_X) && j->code[i + 4].dst == in->src)
            return 0;
    }
    int t = reg_map[in->dst], x = reg_map[in->src];
    if (!bpfvm__jit_dead_after(j, i + 3, in->dst)) {
        emit_mov(j, w64 ? W : 0u, t, x);               /* mov t, x */
        emit_shift(j, bpfvm__ops[a->opcode].code, t, t, a->imm); /* shr/shl t, n */
    }
    emit_rr(j, w64 ? W : 0u, 0xc1, 0, x);              /* rol x, k */
    emit1(j, (uint8_t)(a->opcode == lsh ? a->imm : b->imm));
    return 4;
}

/* Registers that hold lddw constants through a loop copy (copy_konst[k]). */
static const int konst_reg[2] = { RDI, R11 };

/* Is r written before it is read on the straight path from slot k on? A
 * cheap look ahead (at most 16 slots, no jump-target list): it gives up
 * (false) at a call, exit, atomic or forward jump, and at a backward jump
 * asks bpfvm__jit_dead_after there (a loop's back edge). */
static bool written_first(bpfvm__jit *j, size_t k, int r)
{
    for (size_t e = k + 16; k < e && k < j->count; k++) {
        const bpfvm_insn *in = &j->code[k];
        int fmt = bpfvm__ops[in->opcode].fmt;
        bool mov = BPFVM_OP(bpfvm__ops[in->opcode].code) == BPFVM_MOV;
        switch (fmt) {
        case BPFVM__FMT_ALU_K: case BPFVM__FMT_ALU_X: case BPFVM__FMT_NEG: case BPFVM__FMT_END:
        case BPFVM__FMT_LDX: case BPFVM__FMT_LDDW:
            if ((fmt == BPFVM__FMT_ALU_X || fmt == BPFVM__FMT_LDX) && in->src == r)
                return false;
            if (in->dst == r)
                return fmt == BPFVM__FMT_LDX || fmt == BPFVM__FMT_LDDW ||
                       (mov && fmt != BPFVM__FMT_NEG && fmt != BPFVM__FMT_END);
            k += fmt == BPFVM__FMT_LDDW;
            break;
        case BPFVM__FMT_ST: case BPFVM__FMT_STX:
            if (in->dst == r || (fmt == BPFVM__FMT_STX && in->src == r))
                return false;
            break;
        case BPFVM__FMT_JMP_K: case BPFVM__FMT_JMP_X: case BPFVM__FMT_JA:
            if ((fmt != BPFVM__FMT_JA && in->dst == r) || (fmt == BPFVM__FMT_JMP_X && in->src == r) ||
                in->off >= 0)
                return false;
            return bpfvm__jit_dead_after(j, k - 1, r);
        default:
            return false;
        }
    }
    return false;
}

/* Is lddw slot i followed by OP Y, X (OP: add sub or and xor mul, 64-bit, X
 * the lddw's register, not Y, dead after, no jump onto either)? */
static bool konst_use(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i], *op = &in[2];
    int c = BPFVM_OP(bpfvm__ops[op->opcode].code);
    return straight(j, i, 2) && bpfvm__ops[op->opcode].fmt == BPFVM__FMT_ALU_X &&
           BPFVM_CLASS(bpfvm__ops[op->opcode].code) == BPFVM_ALU64 && op->src == in->dst &&
           op->dst != in->dst && (c == BPFVM_ADD || c == BPFVM_SUB || c == BPFVM_OR ||
                                  c == BPFVM_AND || c == BPFVM_XOR || c == BPFVM_MUL) &&
           written_first(j, i + 3, in->dst);
}

/* lddw X, c; OP Y, X (konst_use), c not a sign-extended 32-bit value, no
 * blinding: OP Y, [rip + c] with c after the code (a BPFVM__STUB_CONST):
 * one instruction and a load instead of a movabs in each run of it. */
static size_t emit_lddw_pool(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    uint64_t v = bpfvm__lddw_value(in);
    if (j->blind_state || (int64_t)v == (int32_t)v || !konst_use(j, i))
        return 0;
    bpfvm__jit_stub st = { BPFVM__STUB_CONST, 0, 0, 0, 0, (uint32_t)v, (uint32_t)(v >> 32), 0 };
    size_t k = bpfvm__jit_add_stub(j, &st);
    int y = reg_map[in[2].dst];
    unsigned c = BPFVM_OP(bpfvm__ops[in[2].opcode].code);
    emit_prefix(j, W, y, 0);
    emit_opcode(j, c == BPFVM_MUL ? 0x0fafu : alu_ext(c) * 8 + 3);
    emit1(j, 0x05u | (unsigned)(y & 7) << 3);          /* OP y, [rip + disp32] */
    emit_ref(j, BPFVM__FIX_STUB, k);
    return 3;
}

/* In a loop copy that holds lddw constants in rdi and r11 (hoist_konst):
 *   lddw X, c; OP Y, X   (konst_use)  ->  OP Y, rdi/r11
 *   lddw X, c                         ->  mov X, rdi/r11 */
static size_t emit_lddw_konst(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    uint64_t v = bpfvm__lddw_value(in);
    unsigned k = 0;
    if (!j->copy || i < j->copy->head || i + 2 > j->copy->last) /* (the loop's jump follows) */
        return 0;
    while (k < j->copy_nkonst && j->copy_konst[k] != v)
        k++;
    if (k == j->copy_nkonst)
        return 0;
    if (konst_use(j, i)) {
        emit_alu(j, bpfvm__ops[in[2].opcode].code, reg_map[in[2].dst], konst_reg[k], 0); /* OP Y, K */
        return 3;
    }
    emit_mov(j, W, reg_map[in->dst], konst_reg[k]);    /* mov X, K */
    return 2;
}

/* Before the unchecked copy of loop lp (every access proven: no checks in
 * it), when nothing in it uses rdi or r11 (no stores, division or shift by
 * a register: those are the only instructions of such a loop whose code
 * does) and there is no constant blinding: load the first two distinct
 * lddw constants of the loop into them (mov rdi/r11, c) for
 * emit_lddw_konst. */
static void hoist_konst(bpfvm__jit *j, const bpfvm__jit_loop *lp)
{
    j->copy_nkonst = 0;
    if (!lp->all_hoisted || lp->segment || j->blind_state)
        return;
    for (size_t i = lp->head; i <= lp->last; i++) {
        const bpfvm__opinfo *info = &bpfvm__ops[j->code[i].opcode];
        int op = BPFVM_OP(info->code);
        if (info->fmt == BPFVM__FMT_LDDW)
            i++;                                       /* (its second slot) */
        bool alu = info->fmt == BPFVM__FMT_ALU_K || info->fmt == BPFVM__FMT_ALU_X;
        if ((alu && (op == BPFVM_DIV || op == BPFVM_MOD ||
                     (info->fmt == BPFVM__FMT_ALU_X &&
                      (op == BPFVM_LSH || op == BPFVM_RSH || op == BPFVM_ARSH)))) ||
            (!alu && info->fmt != BPFVM__FMT_NEG && info->fmt != BPFVM__FMT_END &&
             info->fmt != BPFVM__FMT_LDX && info->fmt != BPFVM__FMT_LDDW &&
             info->fmt != BPFVM__FMT_JMP_K && info->fmt != BPFVM__FMT_JMP_X &&
             info->fmt != BPFVM__FMT_JA && info->fmt != BPFVM__FMT_JA32))
            return;
    }
    unsigned n = 0;
    for (size_t i = lp->head; i < lp->last && n < 2; i++) {
        const bpfvm_insn *in = &j->code[i];
        if (bpfvm__ops[in->opcode].fmt != BPFVM__FMT_LDDW)
            continue;
        uint64_t v = bpfvm__lddw_value(in);
        if (n == 0 || j->copy_konst[0] != v) {
            j->copy_konst[n] = v;
            emit_mov_imm(j, konst_reg[n++], v);        /* mov rdi/r11, c */
        }
        i++;
    }
    j->copy_nkonst = n;
}

/* Several slots as fewer x86 instructions; 0 if slot i starts none of the
 * shapes. */
static size_t emit_fused(bpfvm__jit *j, const labels *l, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    size_t n;
    switch (in->opcode) {
    case BPFVM__OP_MOV64_X:
        if ((n = emit_divrem(j, i)) != 0 || (n = emit_modconst(j, i)) != 0)
            return n;
        if ((n = emit_address(j, l, i)) != 0 || (n = emit_rotate(j, i)) != 0)
            return n;
        return (n = emit_test_jump(j, l, i)) != 0 ? n : emit_movzx(j, i);
    case BPFVM__OP_LSH64_K:
        return (n = emit_extend(j, i)) != 0 ? n : emit_address(j, l, i);
    case BPFVM__OP_MOV32_X:
        if ((n = emit_modconst(j, i)) != 0 || (n = emit_rotate(j, i)) != 0)
            return n;
        return (n = emit_test_jump(j, l, i)) != 0 ? n : emit_movzx(j, i);
    case BPFVM__OP_MUL64_K: case BPFVM__OP_MUL32_K:
        return emit_mul_lea(j, i);
    case BPFVM__OP_MOV64_K: case BPFVM__OP_MOV32_K:
        if (konst_dead(j, i))
            return 1;
        if ((n = emit_bit_test(j, l, i)) != 0 || (n = emit_setcc(j, i)) != 0)
            return n;
        return emit_flag_test(j, i);
    case BPFVM__OP_LDXB: case BPFVM__OP_LDXH: case BPFVM__OP_LDXW: case BPFVM__OP_LDXDW:
        return (n = emit_rmw(j, i)) != 0 ? n : emit_mem_run(j, i);
    case BPFVM__OP_STXB:
        return (n = emit_mem_run(j, i)) != 0 ? n : emit_gather(j, i);
    case BPFVM__OP_STB: case BPFVM__OP_STH: case BPFVM__OP_STW: case BPFVM__OP_STDW:
    case BPFVM__OP_STXH: case BPFVM__OP_STXW: case BPFVM__OP_STXDW:
        return emit_mem_run(j, i);
    case BPFVM__OP_JA:
        return emit_thread(j, l, i, bpfvm__jit_dest(j, i), -1) ? 1 : emit_ja_copy(j, l, i);
    case BPFVM__OP_LDDW:
        return (n = emit_lddw_konst(j, i)) != 0 ? n : emit_lddw_pool(j, i);
    case BPFVM__OP_DIV64_K: case BPFVM__OP_MOD64_K:
        return emit_narrow_div(j, i);
    default: {
        int fmt = bpfvm__ops[in->opcode].fmt;
        if (fmt != BPFVM__FMT_JMP_K && fmt != BPFVM__FMT_JMP_X)
            return 0;
        return (n = emit_select(j, i)) != 0 ? n : emit_jump_over_ja(j, l, i);
    }
    }
}

/* Slot i, an ALU operation, neg or byte swap, by itself (ALU immediates
 * through r11 when blinding). */
static void emit_alu_slot(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    int op = in->opcode;
    const bpfvm__opinfo *info = &bpfvm__ops[op];
    uint8_t code = info->code;
    int dst = reg_map[in->dst], src = reg_map[in->src];

    /* blinding: ALU and jump immediates go through r11 (the X form) */
    if (j->blind_state && info->fmt == BPFVM__FMT_ALU_K && BPFVM_OP(code) != BPFVM_LSH &&
        BPFVM_OP(code) != BPFVM_RSH && BPFVM_OP(code) != BPFVM_ARSH &&
        BPFVM_OP(code) != BPFVM_DIV && BPFVM_OP(code) != BPFVM_MOD) {
        emit_blinded(j, W, R11, in->imm);              /* r11 = imm, blinded */
        emit_alu(j, code | BPFVM_X, dst, R11, 0);
        return;
    }

    switch (info->fmt) {
    case BPFVM__FMT_ALU_K:
    case BPFVM__FMT_ALU_X:
        switch (BPFVM_OP(code)) {
        case BPFVM_LSH: case BPFVM_RSH: case BPFVM_ARSH:
            emit_shift(j, code, dst, src, in->imm);
            break;
        case BPFVM_DIV: case BPFVM_MOD:
            emit_divmod(j, code, info->value == 1, dst, src, in->imm,
                        info->fmt == BPFVM__FMT_ALU_X && (j->marks[i] & BPFVM__MARK_PROVEN));
            break;
        case BPFVM_MOV:
            if (info->fmt == BPFVM__FMT_ALU_X && info->value != 0) {
                static const unsigned sx[3] = { 0x0fbe, 0x0fbf, 0x63 };
                unsigned w = alu_w(code);
                int n = info->value == 8 ? 0 : info->value == 16 ? 1 : 2;
                emit_rr(j, w | (n == 0 ? BYTE : 0u), sx[n], dst, src); /* movsx dst, src8/16/32 */
                break;
            }
            emit_alu(j, code, dst, src, in->imm);
            break;
        default:
            emit_alu(j, code, dst, src, in->imm);
            break;
        }
        break;
    case BPFVM__FMT_NEG:
        emit_rr(j, alu_w(code), 0xf7, 3, dst);         /* neg dst */
        break;
    case BPFVM__FMT_END:
        emit_endian(j, op, dst, i > 0 && !(j->marks[i] & BPFVM__MARK_LEADER) &&
                                    in[-1].opcode == BPFVM__OP_LDXH && in[-1].dst == in->dst);
        break;
    default:
        break;
    }
}

/* Translate slot i (and, for lddw and fused pairs, slot i + 1); returns the
 * number of slots it used. */
static size_t emit_insn(bpfvm__jit *j, const labels *l, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    int op = in->opcode;
    const bpfvm__opinfo *info = &bpfvm__ops[op];
    uint8_t code = info->code;
    int dst = reg_map[in->dst], src = reg_map[in->src];

    if (j->metered && j->charge[i])
        emit_alu_mem_imm(j, 5, STATE, ST_OFF(budget_left), (int32_t)j->charge[i]); /* sub */
    if (j->sunk.jcc && !j->copying && i >= j->sunk.first && i < j->sunk.jcc)
        return 1;                                      /* (emitted where the jump goes) */

    int comb = comb_kind(j, i);                        /* (combined loads) */
    if (comb != 0)
        return emit_comb(j, i, comb);
    size_t fused = emit_fused_planned(j, l, i);
    if (fused)
        return fused;

    switch (info->fmt) {
    case BPFVM__FMT_ALU_K:
    case BPFVM__FMT_ALU_X:
    case BPFVM__FMT_NEG:
    case BPFVM__FMT_END:
        if (sink_mov(j, i) && sink_plan(j, i))
            return 1;
        emit_alu_slot(j, i);
        return 1;
    case BPFVM__FMT_JMP_K:
    case BPFVM__FMT_JMP_X:
        emit_cond_jump(j, l, i);
        return 1;
    case BPFVM__FMT_JA:
        emit_branch(j, i, bpfvm__jit_dest(j, i), -1);
        return 1;
    case BPFVM__FMT_JA32:
        emit_branch(j, i, bpfvm__jit_dest(j, i), -1);
        return 1;
    case BPFVM__FMT_CALL: {
        bpfvm__jit_array a;
        if (bpfvm__jit_array_lookup(j, i, &a))
            emit_array_lookup(j, l, i, &a);
        else
            emit_helper_call(j, l, i, -1);
        return 1;
    }
    case BPFVM__FMT_CALLX:
        emit_helper_call(j, l, i, dst);
        return 1;
    case BPFVM__FMT_CALL_LOCAL:
        emit_local_call(j, i, bpfvm__jit_dest(j, i));
        return 1;
    case BPFVM__FMT_EXIT:
        emit1(j, 0xc3);                                /* ret */
        return 1;
    case BPFVM__FMT_LDX: {
        unsigned size = bpfvm__jit_access_size(code);
        if (load_dead(j, i) || (i + 1 < j->count && frame_operand(j, i + 1) >= 0))
            return 1;
        emit_access_check(j, i, in->src, in->off, size, 0);
        emit_load(j, op, dst, src, -1, 0, in->off);
        return 1;
    }
    case BPFVM__FMT_ST: {
        unsigned size = bpfvm__jit_access_size(code);
        emit_access_check(j, i, in->dst, in->off, size, 1);
        emit_store_imm(j, size, dst, in->off, in->imm);
        return 1;
    }
    case BPFVM__FMT_STX: {
        unsigned size = bpfvm__jit_access_size(code);
        emit_access_check(j, i, in->dst, in->off, size, 1);
        emit_rm(j, size_flags(size), size == 1 ? 0x88 : 0x89, src, dst, in->off); /* mov [m], src */
        return 1;
    }
    case BPFVM__FMT_ATOMIC: {
        unsigned size = bpfvm__jit_access_size(code);
        emit_access_check(j, i, in->dst, in->off, size, 3);
        emit_atomic(j, op, size == 8, dst, in->off, src);
        return 1;
    }
    case BPFVM__FMT_LDDW: {
        uint64_t v = bpfvm__lddw_value(in);
        if (j->blind_state) {
            uint64_t key = (uint64_t)bpfvm__jit_blind_key(j) << 32 | bpfvm__jit_blind_key(j);
            emit_mov_imm(j, dst, v ^ key);             /* mov dst, v ^ key */
            emit_mov_imm(j, R11, key);                 /* mov r11, key */
            emit_rr(j, W, 0x31, R11, dst);             /* xor dst, r11 */
        } else {
            emit_mov_imm(j, dst, v);                   /* mov dst, imm64 */
        }
        return 2;
    }
    case BPFVM__FMT_LDABS:
        emit_packet_load(j, l, bpfvm__jit_access_size(code), -1, in->imm);
        return 1;
    default: /* LDIND */
        emit_packet_load(j, l, bpfvm__jit_access_size(code), src, in->imm);
        return 1;
    }
}

/* Do slots i .. i + n - 1, emitted together, only go on to slot i + n (no
 * jump, exit or lddw among them: their code's end is reached through all of
 * them)? */
static bool falls_into(const bpfvm__jit *j, size_t i, size_t n)
{
    for (size_t k = i; k < i + n; k++) {
        int fmt = bpfvm__ops[j->code[k].opcode].fmt;
        if (fmt == BPFVM__FMT_JA || fmt == BPFVM__FMT_JA32 || fmt == BPFVM__FMT_JMP_K ||
            fmt == BPFVM__FMT_JMP_X || fmt == BPFVM__FMT_EXIT || fmt == BPFVM__FMT_LDDW)
            return false;
    }
    return true;
}

/* ---- versioned loops (see bpfvm__jit_loop in jit.h) --------------------- */

static void emit_pad(bpfvm__jit *j, int kind, size_t index);

/* The jumps of a guard to its failure path, patched once that is emitted
 * (at most 4 for the iteration count and 3 per range). */
typedef struct guard_fails {
    size_t fixup[4 + 3 * 8];
    size_t n;
} guard_fails;

static void guard_fail(bpfvm__jit *j, guard_fails *gf, int cc)
{
    emit_jcc_ref(j, cc, BPFVM__FIX_ABS, 0);            /* jcc fail */
    if (j->err)
        return;
    if (gf->n == sizeof(gf->fixup) / sizeof(gf->fixup[0]))
        j->err = BPFVM_EJIT;
    else
        gf->fixup[gf->n++] = j->nfixups - 1;
}

/* |step| = 2^p */
static int step_shift(int32_t step)
{
    uint32_t a = step < 0 ? 0u - (uint32_t)step : (uint32_t)step;
    int p = 0;
    while (a >> p != 1)
        p++;
    return p;
}

/* mov x, bound / sub x, bound   (the loop's bound register or immediate) */
static void emit_bound(bpfvm__jit *j, const bpfvm__jit_loop *lp, bool sub, int x)
{
    if (lp->bound_reg != BPFVM__NOREG && sub)
        emit_rr(j, W, 0x29, reg_map[lp->bound_reg], x);
    else if (lp->bound_reg != BPFVM__NOREG)
        emit_mov(j, W, x, reg_map[lp->bound_reg]);
    else if (sub)
        emit_alu_imm(j, W, 5, x, lp->bound_imm);
    else
        emit_mov_imm(j, x, (uint64_t)(int64_t)lp->bound_imm);
}

enum { CC_S = 0x8 };

/* cmp x, imm; jcc fail */
static void emit_cmp_imm_fail(bpfvm__jit *j, guard_fails *gf, int x, int32_t imm, int cc)
{
    emit_alu_imm(j, W, 7, x, imm);                     /* cmp x, imm */
    guard_fail(j, gf, cc);                             /* jcc fail */
}

/* Is the bound register of loop lp below 2^32 whenever the loop is entered?
 * Asked where the loop's only way in from outside is the slot before its
 * head going on to it. */
static bool bound_small(bpfvm__jit *j, const bpfvm__jit_loop *lp)
{
    if (lp->bound_reg == BPFVM__NOREG)
        return false;
    size_t n = 0;
    const uint32_t *from = bpfvm__jit_preds(j, lp->head, &n);
    for (size_t m = 0; m < n; m++)
        if (from[m] != lp->last)
            return false;
    return from && runs_on(j, lp->head) && bpfvm__callback_index(j->vm, lp->head) < 0 &&
           written_below_2_32(j, lp->head, lp->bound_reg, true);
}

/* r11 = K, the number of times the loop may go back to its head, or, for
 * BPFVM__LOOP_REG_LT, the largest value of the induction variable at the
 * head; uses rdi and r10. With t < B for a bound register B below 2^32
 * (bound_small), the remainder D = B - t0 (or 0) is below 2^32: neither t
 * nor D + |step| - 1 can wrap around and K is below 2^32, so those tests
 * are left out. */
static void emit_trip_count(bpfvm__jit *j, const bpfvm__jit_loop *lp, guard_fails *gf)
{
    int iv = reg_map[lp->iv], s = lp->step[lp->iv];
    int b = lp->bound_reg != BPFVM__NOREG ? reg_map[lp->bound_reg] : -1;
    if (lp->form == BPFVM__LOOP_REG_LT) {
        emit_bound(j, lp, false, R11);                 /* mov r11, B */
        emit_alu_imm(j, W, 5, R11, 1);                 /* sub r11, 1 */
        emit_rr(j, W, 0x0f42, R11, iv);                /* cmovb r11, iv (B = 0) */
        emit_rr(j, W, 0x39, iv, R11);                  /* cmp r11, iv */
        emit_rr(j, W, 0x0f42, R11, iv);                /* cmovb r11, iv: max(iv, B - 1) */
        emit_rr(j, W, 0x85, R11, R11);                 /* test r11, r11 */
        guard_fail(j, gf, CC_S);                       /* js fail: keeps sums below 2^64 */
        emit_mov(j, W, R10, R11);                      /* mov r10, r11 */
        emit_rr(j, W, 0x01, reg_map[lp->step_reg], R10); /* add r10, step */
        guard_fail(j, gf, CC_B);                       /* jc fail: the value would wrap */
        return;
    }
    if (lp->trips_known) {
        emit_mov_imm(j, R11, lp->trips);               /* mov r11d, K */
        return;
    }
    int p = step_shift(s);
    int32_t a = s < 0 ? -s : s;
    bool small = lp->form == BPFVM__LOOP_LT && bound_small(j, lp);
    /* the last value compared, t0 + K * step, must not wrap around: with a
     * register bound, test the bound (an immediate one was tested at
     * compile time) */
    if (b >= 0) {
        switch (lp->form) {
        case BPFVM__LOOP_LT: case BPFVM__LOOP_LE:
            if (lp->form == BPFVM__LOOP_LT && (a == 1 || small))
                break;
            emit_rm(j, W, 0x8d, R10, b, lp->form == BPFVM__LOOP_LT ? a - 1 : a); /* lea r10, [B + ..] */
            emit_rr(j, W, 0x39, b, R10);               /* cmp r10, B */
            guard_fail(j, gf, CC_B);                   /* jb fail: B + .. wraps */
            break;
        case BPFVM__LOOP_GT:
            if (a > 1)
                emit_cmp_imm_fail(j, gf, b, a - 1, CC_B); /* B < |step| - 1: fail */
            break;
        case BPFVM__LOOP_GE:
            emit_cmp_imm_fail(j, gf, b, a, CC_B);      /* B < |step|: fail */
            break;
        default:
            break;
        }
    }
    emit_rm(j, W, 0x8d, RDI, iv, lp->delta);           /* lea rdi, [iv + delta]: t0 */
    emit_mov_imm(j, R10, 0);                           /* xor r10d, r10d */
    bool up = lp->form == BPFVM__LOOP_LT || lp->form == BPFVM__LOOP_LE ||
              (lp->form == BPFVM__LOOP_NE && s > 0);
    if (up) {
        emit_bound(j, lp, false, R11);                 /* mov r11, B */
        emit_rr(j, W, 0x29, RDI, R11);                 /* sub r11, rdi: D = B - t0 */
    } else {
        emit_mov(j, W, R11, RDI);                      /* mov r11, rdi */
        emit_bound(j, lp, true, R11);                  /* sub r11, B: D = t0 - B */
    }
    switch (lp->form) {
    case BPFVM__LOOP_NE:                               /* K = D / |step|, exactly */
        if (p) {
            emit_rr(j, W, 0xf7, 0, R11);               /* test r11, |step| - 1 */
            emit4(j, (uint32_t)a - 1);
            guard_fail(j, gf, CC_NE);                  /* jnz fail: never equal */
        }
        break;
    case BPFVM__LOOP_LT: case BPFVM__LOOP_GT:          /* K = D > 0 ? ceil(D / |step|) : 0 */
        emit_rr(j, W, 0x0f46, R11, R10);               /* cmovbe r11, r10 */
        if (p) {
            emit_alu_imm(j, W, 0, R11, a - 1);         /* add r11, |step| - 1 */
            if (!small)
                guard_fail(j, gf, CC_B);               /* jc fail */
        }
        break;
    default:                                           /* K = D >= 0 ? D / |step| + 1 : 0 */
        emit_rr(j, W, 0x19, R10, R10);                 /* sbb r10, r10: -1 if D < 0 */
        if (p) {
            emit_rr(j, W, 0xc1, 5, R11);               /* shr r11, p */
            emit1(j, (unsigned)p);
        }
        emit_alu_imm(j, W, 0, R11, 1);                 /* add r11, 1 */
        emit_rr(j, W, 0xf7, 2, R10);                   /* not r10 */
        emit_rr(j, W, 0x21, R10, R11);                 /* and r11, r10 */
        p = 0;
        break;
    }
    if (p) {
        emit_rr(j, W, 0xc1, 5, R11);                   /* shr r11, p */
        emit1(j, (unsigned)p);
    }
    if (small)
        return;
    emit_mov(j, W, R10, R11);                          /* mov r10, r11 */
    emit_rr(j, W, 0xc1, 5, R10);                       /* shr r10, 32 */
    emit1(j, 32);
    guard_fail(j, gf, CC_NE);                          /* jnz fail: 2^32 iterations or more */
}

/* emit_range for a range in mem whose width W is a constant (no term
 * stepping down, the trip count known where a term steps): with
 * v = u + W (modulo 2^64), v below the length and v >= W say the same as
 * emit_range's three tests, in two:
 *   lea rdi, [a (+ b) + lo + W]; add rdi, [r13+mem_neg]: v
 *   cmp rdi, [r13+mem_lim]; jae fail; cmp rdi, W; jb fail */
static bool emit_range_const(bpfvm__jit *j, const bpfvm__jit_loop *lp, const bpfvm__jit_range *g,
                             guard_fails *gf)
{
    int64_t width = 0;
    for (int k = 0; k < 2 && g->reg[k] != BPFVM__NOREG; k++) {
        if (lp->step[g->reg[k]] < 0)
            return false;
        width += lp->step[g->reg[k]];
    }
    int64_t whole = (int64_t)g->hi - g->lo + (width ? (int64_t)lp->trips * width : 0);
    int64_t top = g->lo + whole;
    if (g->frame || lp->form == BPFVM__LOOP_REG_LT || (width && !lp->trips_known) ||
        whole > INT32_MAX || top > INT32_MAX)
        return false;
    int a = reg_map[g->reg[0]];
    if (g->reg[1] == BPFVM__NOREG)
        emit_rm(j, W, 0x8d, RDI, a, (int32_t)top);     /* lea rdi, [a + lo + W] */
    else
        emit_lea_index(j, RDI, a, reg_map[g->reg[1]], (int32_t)top); /* lea rdi, [a + b + lo + W] */
    emit_rm(j, W, 0x03, RDI, STATE, ST_OFF(mem_neg));  /* add rdi, [r13+mem_neg]: v */
    emit_rm(j, W, 0x3b, RDI, STATE, ST_OFF(mem_lim));  /* cmp rdi, [r13+mem_lim] */
    guard_fail(j, gf, CC_AE);                          /* jae fail */
    if (whole)
        emit_cmp_imm_fail(j, gf, RDI, (int32_t)whole, CC_B); /* v < W: fail */
    return true;
}

/* Fail unless every byte of range g over every iteration is inside mem / the
 * frame: u = its first byte - the region's start (modulo 2^64) and u + W,
 * W = its width (below 2^64), both below the region's length, u + W without
 * carry. */
static void emit_range(bpfvm__jit *j, const bpfvm__jit_loop *lp, const bpfvm__jit_range *g,
                       guard_fails *gf)
{
    if (emit_range_const(j, lp, g, gf))
        return;
    bool reg_lt = lp->form == BPFVM__LOOP_REG_LT;
    int32_t width = 0; /* sum of |step| of the terms (reg_lt: 1 if iv is one) */
    int a = reg_map[g->reg[0]];
    if (g->reg[1] == BPFVM__NOREG)
        emit_rm(j, W, 0x8d, RDI, a, g->lo);            /* lea rdi, [a + lo] */
    else
        emit_lea_index(j, RDI, a, reg_map[g->reg[1]], g->lo); /* lea rdi, [a + b + lo] */
    for (int k = 0; k < 2 && g->reg[k] != BPFVM__NOREG; k++) {
        int32_t s = lp->step[g->reg[k]];
        if (reg_lt) {
            width |= g->reg[k] == lp->iv;
        } else if (s < 0) {
            emit_rr(j, W, 0x69, R10, R11);             /* imul r10, r11, |step| */
            emit4(j, (uint32_t)-s);
            emit_rr(j, W, 0x29, R10, RDI);             /* sub rdi, r10 */
            width -= s;
        } else {
            width += s;
        }
    }
    int32_t size = (int32_t)j->stack_size;
    if (g->frame) {
        emit_rr(j, W, 0x29, RBP, RDI);                 /* sub rdi, rbp */
        emit_alu_imm(j, W, 0, RDI, size);              /* add rdi, S: u */
        emit_cmp_imm_fail(j, gf, RDI, size, CC_AE);    /* u >= S: fail */
    } else {
        emit_rm(j, W, 0x03, RDI, STATE, ST_OFF(mem_neg)); /* add rdi, [r13+mem_neg]: u */
        emit_rm(j, W, 0x3b, RDI, STATE, ST_OFF(mem_lim)); /* cmp rdi, [r13+mem_lim] */
        guard_fail(j, gf, CC_AE);                      /* jae fail */
    }
    int32_t d = g->hi - g->lo;
    int64_t whole = lp->trips_known ? (int64_t)lp->trips * width + d : -1;
    if (!reg_lt && whole >= 0 && whole <= INT32_MAX) {
        width = 0; /* W is a constant */
        d = (int32_t)whole;
    }
    int span = R10;
    if (reg_lt && width) {
        emit_mov(j, W, R10, R11);                      /* mov r10, r11 */
        emit_rr(j, W, 0x29, reg_map[lp->iv], R10);     /* sub r10, iv: its span */
    } else if (width > 1) {
        emit_rr(j, W, 0x69, R10, R11);                 /* imul r10, r11, width */
        emit4(j, (uint32_t)width);
    } else if (width) {
        span = R11;                                    /* K */
    }
    if (width) {
        if (d) {
            emit_rm(j, W, 0x8d, R10, span, d);         /* lea r10, [span + d] */
            span = R10;
        }
        emit_rr(j, W, 0x01, span, RDI);                /* add rdi, span: u + W */
    } else if (d) {
        emit_alu_imm(j, W, 0, RDI, d);                 /* add rdi, d: u + W */
    } else {
        return;                                        /* W = 0 */
    }
    guard_fail(j, gf, CC_B);                           /* jc fail */
    if (g->frame) {
        emit_cmp_imm_fail(j, gf, RDI, size, CC_AE);    /* u + W >= S: fail */
    } else {
        emit_rm(j, W, 0x3b, RDI, STATE, ST_OFF(mem_lim)); /* cmp rdi, [r13+mem_lim] */
        guard_fail(j, gf, CC_AE);                      /* jae fail */
    }
}

/* Before the (checked) loop lp: its guard, which entries from outside go
 * through, then its unchecked copy, then the failure path, which goes on
 * into the checked loop. */
static void emit_versioned(bpfvm__jit *j, const labels *l, const bpfvm__jit_loop *lp)
{
    guard_fails gf;
    gf.n = 0;
    j->loops[lp - j->loops].guard = here(j);
    emit_trip_count(j, lp, &gf);
    for (size_t k = 0; k < lp->nranges; k++)
        emit_range(j, lp, &j->ranges[lp->first_range + k], &gf);
    emit_rm(j, W, 0x8b, R10, STATE, ST_OFF(mem_neg));  /* mov r10, [r13+mem_neg] */
    hoist_konst(j, lp);

    size_t pad = SIZE_MAX;
    if (!lp->segment) {
        emit_jmp_ref(j, BPFVM__FIX_COPY_JUMP, lp->head); /* jmp copy (over the padding) */
        pad = j->nfixups;
        emit_pad(j, BPFVM__FIX_PAD_COPY, 0);
    }
    int checked = j->checked;
    j->copy = lp;
    if (lp->all_hoisted && !lp->segment) /* (a segment's last slot may fuse with the next) */
        j->checked = 0;
    size_t i = lp->head;
    while (i <= lp->last && !j->err) {
        j->copy_off[i] = here(j);
        size_t n = emit_insn(j, l, i);
        for (size_t k = 1; k < n; k++)
            j->copy_off[i + k] = here(j);
        i += n;
    }
    j->checked = checked;
    j->copy = NULL;
    j->copy_nkonst = 0;
    j->rmw_store = 0;
    if (!j->err && pad != SIZE_MAX) /* the copy's size so far: an upper bound of its final size */
        j->fixups[pad].index = here(j) - j->copy_off[lp->head];
    if (bpfvm__ops[j->code[lp->last].opcode].fmt != BPFVM__FMT_JA &&
        bpfvm__ops[j->code[lp->last].opcode].fmt != BPFVM__FMT_JA32) {
        size_t t = i; /* the loop ends: on to the next slot not copied (or its guard) */
        int kind = t < j->count ? bpfvm__jit_slot_ref(j, lp->last, &t) : BPFVM__FIX_SLOT;
        emit_jmp_ref(j, kind == BPFVM__FIX_SLOT ? BPFVM__FIX_SLOT_JUMP : kind, t);
    }

    uint32_t fail = here(j);
    for (size_t k = 0; k < gf.n && !j->err; k++)
        j->fixups[gf.fixup[k]].index = fail;
    emit_rm(j, W, 0x8b, R10, STATE, ST_OFF(mem_neg));  /* fail: mov r10, [r13+mem_neg] */
}

/* ---- runs of copies and stores (memcpy and memset as clang expands them) -
 *
 * clang expands a constant-size __builtin_memcpy of unaligned data into
 * pairs `ldx T, [S + a]; stx [D + a + delta], T` of one size, and a memset
 * into `stxb [D + k], V` or `st [D + k], imm` (stores of known values with
 * the computation of those values between them: run_between). A run of at
 * least RUN_MIN of them inside one block becomes wide moves (16 bytes through xmm0, else
 * 8/4/2/1 through r11). The same bytes end up in memory in any order as
 * long as a copy's source and destination do not overlap; T ends with the
 * last value it loaded (loaded again from the unchanged source, unless dead).
 * Before the wide moves: a test that the two ranges do not overlap (when S
 * and D differ; with the same register the offsets decide at compile time)
 * and, in checked mode, one test per range that it is inside the input
 * memory or the frame, instead of one per access. When a test fails, the
 * run's own slots run one by one with their checks, so a fault happens at
 * the same instruction after the same stores as in the interpreter. A store
 * run needs no test of bytes an earlier run of the block wrote all of,
 * through the same unchanged register (memops: the memset after the
 * memcpy). The budget is charged per block, so it counts the same. */

enum { RUN_COPY, RUN_STORE_REG, RUN_STORE_IMM };
enum { SIDE_NONE, SIDE_MEM, SIDE_FRAME, SIDE_NEVER };
#define RUN_MIN 4          /* accesses (pairs for a copy) that make a run */
#define RUN_WINDOW 1024    /* destination bytes a run may span */

typedef struct mem_run {
    int kind;               /* RUN_* */
    size_t slots;           /* slots covered */
    size_t stores;          /* store runs: the stores among them */
    size_t last_load;       /* copy: the slot of its last load */
    int sreg, dreg, vreg;   /* source base (copy), destination base, T or V */
    int32_t delta;          /* copy: destination offset - source offset */
    int32_t lo, hi;         /* destination bytes [dreg + lo, dreg + hi) (hull) */
    int32_t origin;         /* the offset of bit 0 of cover and byte 0 of image */
    uint64_t cover[RUN_WINDOW / 64]; /* destination bytes stored */
    uint8_t image[RUN_WINDOW]; /* store imm: the bytes stored */
    bool r11_set;           /* store imm: r11 holds r11_value (the chunks emitted) */
    uint64_t r11_value;
} mem_run;

/* Can a run that started before slot k go on with it? No block starts
 * there, no guard or padding comes before it, no versioned code resumes at
 * it, and it is inside the loop being copied. */
static bool run_continues(const bpfvm__jit *j, size_t k)
{
    return k < j->count && (!j->copy || k <= j->copy->last) &&
           !(j->marks[k] & BPFVM__MARK_LEADER) && !bpfvm__jit_loop_edge(j, k);
}

/* Record the destination bytes [off, off + size); false if they leave the
 * window or were already stored by the run. */
static bool run_cover(mem_run *r, int32_t off, unsigned size)
{
    int64_t b = (int64_t)off - r->origin;
    if (b < 0 || b + size > RUN_WINDOW)
        return false;
    for (int64_t k = b; k < b + size; k++)
        if (r->cover[k / 64] >> (k % 64) & 1)
            return false;
    for (int64_t k = b; k < b + size; k++)
        r->cover[k / 64] |= 1ull << (k % 64);
    r->lo = off < r->lo ? off : r->lo;
    r->hi = off + (int32_t)size > r->hi ? off + (int32_t)size : r->hi;
    return true;
}

static bool run_covered(const mem_run *r, int32_t off)
{
    int32_t b = off - r->origin;
    return r->cover[b / 64] >> (b % 64) & 1;
}

/* The run of copy pairs starting with the load at slot i. */
static size_t match_copy(const bpfvm__jit *j, size_t i, mem_run *r)
{
    const bpfvm_insn *in = &j->code[i], *st = &in[1];
    unsigned size = bpfvm__jit_access_size(bpfvm__ops[in->opcode].code);
    if (!run_continues(j, i + 1) || bpfvm__ops[st->opcode].fmt != BPFVM__FMT_STX ||
        bpfvm__jit_access_size(bpfvm__ops[st->opcode].code) != size || st->src != in->dst ||
        in->dst == in->src || in->dst == st->dst)
        return 0;
    r->kind = RUN_COPY;
    r->sreg = in->src;
    r->dreg = st->dst;
    r->vreg = in->dst;
    r->delta = st->off - in->off;
    r->origin = st->off - RUN_WINDOW / 2;
    size_t n = 0;
    for (size_t k = i; k + 1 < j->count; k += 2, n++) {
        const bpfvm_insn *a = &j->code[k], *b = &a[1];
        if ((k > i && !run_continues(j, k)) || !run_continues(j, k + 1) ||
            a->opcode != in->opcode || b->opcode != st->opcode || a->dst != r->vreg ||
            a->src != r->sreg || b->dst != r->dreg || b->src != r->vreg ||
            b->off - a->off != r->delta || !run_cover(r, b->off, size))
            break;
        r->last_load = k;
    }
    r->slots = 2 * n;
    /* the same base: the offsets tell whether source and destination overlap */
    int32_t d = r->delta < 0 ? -r->delta : r->delta;
    return r->sreg == r->dreg && d < r->hi - r->lo ? 0 : n;
}

/* The value slot k, a store, writes when it is the same in every run: an
 * st's immediate, or an stx's register the bounds analysis knows (not when
 * blinding: the code would hold the program's constants). */
static bool store_value(const bpfvm__jit *j, size_t k, uint64_t *v)
{
    const bpfvm_insn *in = &j->code[k];
    int fmt = bpfvm__ops[in->opcode].fmt;
    if (j->blind_state)
        return false;
    if (fmt == BPFVM__FMT_ST)
        *v = (uint64_t)(int64_t)in->imm;
    else if (fmt == BPFVM__FMT_STX && j->stored && j->stored[k].known)
        *v = j->stored[k].value;
    else
        return false;
    return true;
}

/* Slot k inside a run of known values stored through dreg: an operation on
 * another register (no division), or an lddw of a number, that the run's
 * wide stores can come after (memset: clang computes the byte patterns
 * between the stores). Its slots, 0 if it is not one. */
static size_t run_between(const bpfvm__jit *j, size_t k, int dreg)
{
    const bpfvm_insn *in = &j->code[k];
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    int op = BPFVM_OP(info->code);
    if (in->dst == dreg || !run_continues(j, k))
        return 0;
    if (info->fmt == BPFVM__FMT_LDDW)
        return in->src == 0 && run_continues(j, k + 1) ? 2 : 0;
    return (info->fmt == BPFVM__FMT_ALU_K || info->fmt == BPFVM__FMT_ALU_X) &&
                   op != BPFVM_DIV && op != BPFVM_MOD
               ? 1
               : 0;
}

/* The run of stores starting at slot i: of known values (st, or stx of a
 * register store_value knows; any sizes; register operations run_between
 * allows may come between them), or of one register's low byte (stxb).
 * Returns the number of stores. */
static size_t match_stores(const bpfvm__jit *j, size_t i, mem_run *r)
{
    const bpfvm_insn *in = &j->code[i];
    uint64_t v;
    r->kind = store_value(j, i, &v) ? RUN_STORE_IMM : RUN_STORE_REG;
    if (r->kind == RUN_STORE_REG && in->opcode != BPFVM__OP_STXB)
        return 0;
    r->sreg = r->dreg = in->dst;
    r->delta = 0;
    r->vreg = in->src;
    r->origin = in->off - RUN_WINDOW / 2;
    r->stores = 0;
    size_t end = i;
    for (size_t k = i, n; k < j->count; k++) {
        const bpfvm_insn *a = &j->code[k];
        const bpfvm__opinfo *ai = &bpfvm__ops[a->opcode];
        unsigned size = bpfvm__jit_access_size(ai->code);
        if (k > i && r->kind == RUN_STORE_IMM && (n = run_between(j, k, r->dreg)) != 0) {
            k += n - 1;
            continue;
        }
        if ((k > i && !run_continues(j, k)) ||
            (ai->fmt != BPFVM__FMT_ST && ai->fmt != BPFVM__FMT_STX) || a->dst != r->dreg ||
            (r->kind == RUN_STORE_IMM ? !store_value(j, k, &v)
                                      : a->opcode != in->opcode || a->src != r->vreg) ||
            !run_cover(r, a->off, size))
            break;
        for (unsigned b = 0; r->kind == RUN_STORE_IMM && b < size; b++)
            r->image[a->off - r->origin + (int32_t)b] = (uint8_t)(v >> (8 * b));
        end = k + 1;
        r->stores++;
    }
    r->slots = end - i;
    return r->stores;
}

static bool match_run(const bpfvm__jit *j, size_t i, mem_run *r)
{
    int fmt = bpfvm__ops[j->code[i].opcode].fmt;
    if (i + RUN_MIN >= j->count)
        return false;
    int next = bpfvm__ops[j->code[i + 1].opcode].fmt;
    if (fmt == BPFVM__FMT_LDX ? next != BPFVM__FMT_STX
                              : next != BPFVM__FMT_ST && next != BPFVM__FMT_STX)
        return false;                                  /* (the usual case, quickly) */
    memset(r->cover, 0, sizeof r->cover);
    r->r11_set = false;
    r->lo = INT32_MAX;
    r->hi = INT32_MIN;
    size_t n = fmt == BPFVM__FMT_LDX ? match_copy(j, i, r) : match_stores(j, i, r);
    return n >= RUN_MIN;
}

/* Which test, in checked mode, proves the accesses of slots first, first +
 * step, ... < end to [r(breg) + lo, + hi) allowed: none (r10 at constant
 * offsets inside the frame; proved by the guard of the loop being copied or
 * by the program's compares),
 * the frame (r10, or a register the analysis guessed points there), else
 * the input memory; SIDE_NEVER if the range cannot fit the frame. */
static int run_side(const bpfvm__jit *j, size_t first, size_t end, size_t step, int breg,
                    int32_t lo, int32_t hi)
{
    int32_t s = (int32_t)j->stack_size;
    if (!j->checked || bpfvm__jit_in_frame(j, breg, lo, (unsigned)(hi - lo)))
        return SIDE_NONE;
    bool hoisted = j->copy != NULL, proven = true;
    for (size_t k = first; k < end && (hoisted || proven); k += step) {
        hoisted = hoisted && (j->marks[k] & BPFVM__MARK_HOIST);
        proven = proven && (j->marks[k] & BPFVM__MARK_PROVEN);
    }
    if (hoisted || proven)
        return SIDE_NONE;
    if (breg == BPFVM_R10 || (j->marks[first] & BPFVM__MARK_STACK))
        return hi - lo <= s ? SIDE_FRAME : SIDE_NEVER;
    return SIDE_MEM;
}

/* Did the run that wrote j->run_wrote write every byte of [r(breg) + lo,
 * + hi) on the way to slot i, the register unchanged since (in one block:
 * only loads into other registers, stores and register operations on
 * others come between)? Then a store run there cannot fault. */
static bool run_written(const bpfvm__jit *j, size_t i, int breg, int32_t lo, int32_t hi)
{
    if (j->run_wrote.end == 0 || j->run_wrote.end > i || j->run_wrote.copy != j->copy ||
        j->run_wrote.reg != breg || lo < j->run_wrote.lo || hi > j->run_wrote.hi)
        return false;
    for (size_t k = j->run_wrote.end; k <= i; k++) {
        const bpfvm_insn *in = &j->code[k];
        int fmt = bpfvm__ops[in->opcode].fmt;
        if ((j->marks[k] & (BPFVM__MARK_LEADER | BPFVM__MARK_GUARD | BPFVM__MARK_LOOP)) ||
            (k < i && fmt != BPFVM__FMT_ST && fmt != BPFVM__FMT_STX &&
             ((fmt != BPFVM__FMT_ALU_K && fmt != BPFVM__FMT_ALU_X && fmt != BPFVM__FMT_LDX) ||
              in->dst == breg)))
            return false;
    }
    return true;
}

/* Fail unless [x + lo, x + hi) is inside the frame / the input memory:
 *   frame: as emit_frame_check, for hi - lo bytes
 *   mem:   lea r11, [x + r10 + hi - 1]; cmp r11, [r13+mem_lim]; jae fail
 *          cmp r11, hi - lo - 1; jb fail      (the first byte is below mem) */
static void emit_run_range(bpfvm__jit *j, int side, int breg, int32_t lo, int32_t hi,
                           guard_fails *gf)
{
    if (side == SIDE_FRAME) {
        emit_frame_check(j, reg_map[breg], lo, (unsigned)(hi - lo));
        guard_fail(j, gf, CC_AE);
    } else if (side == SIDE_MEM) {
        emit_lea_index(j, R11, reg_map[breg], R10, hi - 1);
        emit_rm(j, W, 0x3b, R11, STATE, ST_OFF(mem_lim));
        guard_fail(j, gf, CC_AE);
        emit_cmp_imm_fail(j, gf, R11, hi - lo - 1, CC_B);
    }
}

/* The c bytes (a power of two) at destination offset o, all stored by the
 * run (r11 holds the replicated byte of a RUN_STORE_REG run). */
static void emit_run_chunk(bpfvm__jit *j, mem_run *r, int32_t o, unsigned c)
{
    int d = reg_map[r->dreg];
    if (r->kind == RUN_COPY && c == 16) {
        emit_rm(j, 0, 0x0f10, 0, reg_map[r->sreg], o - r->delta); /* movups xmm0, [s + o'] */
        emit_rm(j, 0, 0x0f11, 0, d, o);                /* movups [d + o], xmm0 */
        return;
    }
    if (r->kind == RUN_COPY) {                         /* movzx r11d / mov r11(d), [s + o'] */
        emit_rm(j, c == 8 ? W : 0u, c == 1 ? 0x0fb6 : c == 2 ? 0x0fb7 : 0x8b, R11,
                reg_map[r->sreg], o - r->delta);
    } else if (r->kind == RUN_STORE_IMM) {
        uint64_t v = 0;
        for (unsigned b = c; b-- > 0;)
            v = v << 8 | r->image[o - r->origin + (int32_t)b];
        if (c < 8 || is_imm32((int64_t)v)) {
            emit_store_imm(j, c, d, (int16_t)o, (int32_t)v); /* mov size [d + o], imm */
            return;
        }
        if (!r->r11_set || r->r11_value != v)
            emit_mov_imm(j, R11, v);                   /* mov r11, imm64 */
        r->r11_set = true;
        r->r11_value = v;
    }
    emit_rm(j, size_flags(c), c == 1 ? 0x88 : 0x89, R11, d, o); /* mov [d + o], r11 */
}

/* The bytes [p, q) of a run as chunks of the widest size up to max that
 * fits, the last one ending at q (it may overlap the one before). */
static void emit_run_chunks(bpfvm__jit *j, mem_run *r, int32_t p, int32_t q, unsigned max)
{
    unsigned c = max;
    while (c > (unsigned)(q - p))
        c >>= 1;
    for (int32_t o = p; o + (int32_t)c < q; o += (int32_t)c)
        emit_run_chunk(j, r, o, c);
    emit_run_chunk(j, r, q - (int32_t)c, c);
}

/* A register operation (an ALU one, or an lddw of a number when not
 * blinded) by itself: one between the stores of a run (run_between), or
 * before a bit test's bt (emit_bit_test); its slots. */
static size_t emit_run_between(bpfvm__jit *j, size_t k)
{
    const bpfvm_insn *in = &j->code[k];
    if (bpfvm__ops[in->opcode].fmt != BPFVM__FMT_LDDW) {
        emit_alu_slot(j, k);
        return 1;
    }
    emit_mov_imm(j, reg_map[in->dst], bpfvm__lddw_value(in));
    return 2;                                          /* (no blinding in such a run) */
}

/* The register operations between the stores of the run of slots [i, end)
 * (run_between) whose results are read after it, in their order (the run's
 * wide stores do not read registers). */
static void emit_run_betweens(bpfvm__jit *j, size_t i, size_t end)
{
    uint32_t at[64];
    size_t n = 0;
    for (size_t k = i; k < end; k++) {
        int fmt = bpfvm__ops[j->code[k].opcode].fmt;
        if (fmt != BPFVM__FMT_ST && fmt != BPFVM__FMT_STX && n++ < 64)
            at[n - 1] = (uint32_t)k;
        k += fmt == BPFVM__FMT_LDDW;
    }
    if (n > 64) {                                      /* (many: all of them) */
        for (size_t k = i; k < end; k++) {
            int fmt = bpfvm__ops[j->code[k].opcode].fmt;
            if (fmt != BPFVM__FMT_ST && fmt != BPFVM__FMT_STX)
                k += emit_run_between(j, k) - 1;
        }
        return;
    }
    uint64_t keep = 0;                                 /* at[m] emitted */
    unsigned live = 0;                                 /* registers read after */
    for (int r = 0; r <= BPFVM_R9 && n > 0; r++)
        live |= !bpfvm__jit_dead_after(j, end - 1, r) ? 1u << r : 0u;
    for (size_t m = n; m-- > 0;) {
        const bpfvm_insn *in = &j->code[at[m]];
        const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
        if (!(live >> in->dst & 1))
            continue;
        keep |= 1ull << m;
        if (info->fmt == BPFVM__FMT_LDDW || BPFVM_OP(info->code) == BPFVM_MOV)
            live &= ~(1u << in->dst);                  /* set, not read */
        if (info->fmt == BPFVM__FMT_ALU_X)
            live |= 1u << in->src;
        if (info->fmt != BPFVM__FMT_LDDW && BPFVM_OP(info->code) != BPFVM_MOV)
            live |= 1u << in->dst;
    }
    for (size_t m = 0; m < n; m++)
        if (keep >> m & 1)
            emit_run_between(j, at[m]);
}

/* Slot k of a run as it is translated alone (the path taken when a test of
 * the run fails); its slots. */
static size_t emit_run_slot(bpfvm__jit *j, size_t k)
{
    const bpfvm_insn *in = &j->code[k];
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    unsigned size = bpfvm__jit_access_size(info->code);
    if (info->fmt == BPFVM__FMT_LDX) {
        emit_access_check(j, k, in->src, in->off, size, 0);
        emit_load(j, in->opcode, reg_map[in->dst], reg_map[in->src], -1, 0, in->off);
        return 1;
    }
    if (info->fmt != BPFVM__FMT_ST && info->fmt != BPFVM__FMT_STX)
        return emit_run_between(j, k);
    emit_access_check(j, k, in->dst, in->off, size, 1);
    if (info->fmt == BPFVM__FMT_ST)
        emit_store_imm(j, size, reg_map[in->dst], in->off, in->imm);
    else                                               /* mov [m], src */
        emit_rm(j, size_flags(size), size == 1 ? 0x88 : 0x89, reg_map[in->src],
                reg_map[in->dst], in->off);
    return 1;
}

/* A run of copies or stores starting at slot i (see above); 0 if none. */
static size_t emit_mem_run(bpfvm__jit *j, size_t i)
{
    mem_run r;
    if (j->copying || !match_run(j, i, &r))
        return 0;
    bool copy = r.kind == RUN_COPY;
    int32_t len = r.hi - r.lo;
    size_t end = i + r.slots;
    int dside = run_written(j, i, r.dreg, r.lo, r.hi) ? SIDE_NONE
              : run_side(j, copy ? i + 1 : i, end, copy ? 2 : 1, r.dreg, r.lo, r.hi);
    int sside = copy ? run_side(j, i, end, 2, r.sreg, r.lo - r.delta, r.hi - r.delta) : SIDE_NONE;
    if (dside == SIDE_NEVER || sside == SIDE_NEVER)
        return 0;
    guard_fails gf;
    gf.n = 0;
    if (copy && r.sreg != r.dreg) {                    /* d = dest - source start */
        emit_rm(j, W, 0x8d, R11, reg_map[r.dreg], r.delta + len - 1); /* lea r11, [D + delta + L - 1] */
        emit_rr(j, W, 0x29, reg_map[r.sreg], R11);     /* sub r11, S: d + L - 1 */
        emit_cmp_imm_fail(j, &gf, R11, 2 * len - 2, CC_BE); /* -L < d < L: overlap */
    }
    if (copy)
        emit_run_range(j, sside, r.sreg, r.lo - r.delta, r.hi - r.delta, &gf);
    emit_run_range(j, dside, r.dreg, r.lo, r.hi, &gf);
    if (r.kind == RUN_STORE_REG) {
        emit_rr(j, BYTE, 0x0fb6, R11, reg_map[r.vreg]); /* movzx r11d, V8 */
        emit_mov_imm(j, RDI, 0x0101010101010101ull);   /* mov rdi, 0x0101..01 */
        emit_rr(j, W, 0x0faf, R11, RDI);               /* imul r11, rdi */
    }
    if (r.kind == RUN_STORE_IMM)
        emit_run_betweens(j, i, end);
    for (int32_t p = r.lo, q; p < r.hi; p = q) {       /* each interval [p, q) stored */
        for (q = p; q < r.hi && run_covered(&r, q); q++)
            ;
        if (q == p) {
            q++;
            continue;
        }
        emit_run_chunks(j, &r, p, q, copy ? 16 : 8);
    }
    bool whole = true;                                 /* no hole: remember the bytes */
    for (int32_t o = r.lo; o < r.hi && whole; o++)
        whole = run_covered(&r, o);
    if (whole) {
        j->run_wrote.copy = j->copy;
        j->run_wrote.end = (uint32_t)end;
        j->run_wrote.lo = r.lo;
        j->run_wrote.hi = r.hi;
        j->run_wrote.reg = (uint8_t)r.dreg;
    }
    if (copy && !bpfvm__jit_dead_after(j, end - 1, r.vreg)) {
        const bpfvm_insn *ld = &j->code[r.last_load];
        emit_load(j, ld->opcode, reg_map[r.vreg], reg_map[r.sreg], -1, 0, ld->off);
    }
    if (gf.n == 0)
        return r.slots;
    size_t done = SIZE_MAX;
    emit_jmp_ref(j, BPFVM__FIX_ABS, 0);                /* jmp done */
    if (!j->err)
        done = j->nfixups - 1;
    for (size_t k = 0; k < gf.n && !j->err; k++)
        j->fixups[gf.fixup[k]].index = here(j);        /* fail: the slots one by one */
    for (size_t k = i; k < end;)
        k += emit_run_slot(j, k);
    if (!j->err && done != SIZE_MAX)
        j->fixups[done].index = here(j);
    return r.slots;
}

/* ---- gathered byte copies ------------------------------------------------ */

/* clang copies unaligned bytes it also computes with one at a time, the
 * stores far from their loads and in an order of their own (memops: the
 * bytes of two u64 words it reads back from a record it copies), so they
 * are no run. A byte store at slot i whose value is a byte loaded through
 * the same base register D (byte 0 of the register, followed through movs,
 * lsh by 8 or more and or with such a zero byte) starts a gathered copy:
 * the stores of the block after it with the same distance between the
 * destination and the source offset cover the bytes [D + lo, D + hi)
 * around its own; if there are at least two, slot i copies all of them with
 * wide moves, and the other stores are left out when their slots come.
 * Writing those bytes early gives the same memory as long as, between slot
 * i and the last of those stores (the window), nothing reads them, nothing
 * else writes them or the source bytes, D stays, and nothing can fault or
 * leave the block; and the source bytes each store takes still hold, at
 * slot i, what was loaded (no store to them since the load). Any store
 * left out that is done after all is harmless: it writes the same byte
 * again. An access through another register is apart from D's bytes only
 * when one of the two is r10 at an offset inside the frame and the other
 * is proven inside the input memory by the program's compares (in either
 * mode) or by the guard of the loop being copied (whose ranges are all in
 * the input memory); else it is taken as touching them. In checked mode
 * only unchecked accesses may take part (the frame at constant offsets,
 * accesses a loop guard or the program's compares proved), so there is no
 * fault to place. */

#define GATHER_SLOTS 256   /* slots looked at before and after slot i */
#define GATHER_BYTES 64    /* destination bytes around slot i's */

enum { PROV_NONE, PROV_ZERO, PROV_MEM };
enum { PROV_REGS = 11, PROV_SPILLS = 16, PROV_N = PROV_REGS + PROV_SPILLS };
typedef struct byte_prov {
    uint8_t kind, base;     /* PROV_*; PROV_MEM: the byte at [r(base) + off], */
    int32_t off;
    uint32_t slot;          /* loaded at this slot */
} byte_prov;

typedef struct gather_access {
    uint32_t slot;
    uint8_t base, store, size, cand; /* cand: a store of the copy's distance */
    int32_t off;
} gather_access;

/* Does slot k's access [r(breg) + off, + size) need no check? */
static bool gather_unchecked(const bpfvm__jit *j, size_t k, int breg, int32_t off, unsigned size)
{
    return !j->checked || bpfvm__jit_in_frame(j, breg, off, size) || bpfvm__jit_proven(j, k);
}

/* Are the accesses through a (at slot ka) and b (at slot kb), different
 * registers, surely apart (see above)? */
static bool gather_apart(const bpfvm__jit *j, int a, size_t ka, int b, size_t kb)
{
    if (a != BPFVM_R10 && b != BPFVM_R10)
        return false;
    size_t other = a == BPFVM_R10 ? kb : ka;
    if (other < j->count && (j->marks[other] & BPFVM__MARK_PROVEN))
        return true;
    if (!bpfvm__jit_hoisted(j, other))
        return false;
    for (uint32_t m = 0; m < j->copy->nranges; m++)
        if (j->ranges[j->copy->first_range + m].frame)
            return false;
    return true;
}

/* The frame slot of an 8-byte access [r10 + off] that p[] follows:
 * PROV_REGS + its index, or -1. */
static int prov_spill(int breg, int32_t off, unsigned size)
{
    if (breg != BPFVM_R10 || size != 8 || off >= 0 || off < -8 * PROV_SPILLS || off % 8 != 0)
        return -1;
    return PROV_REGS + (int)(-off / 8) - 1;
}

/* The effect of slot k on the bytes the registers hold (p[]: byte 0 of
 * each register, then of the 8-byte frame slots [r10 - 8], [r10 - 16], ...
 * while they hold a register spilled there). Returns false at a slot the
 * copy cannot cross (jumps, calls, exits, atomics, packet loads). */
static bool prov_step(const bpfvm__jit *j, size_t k, byte_prov p[PROV_N])
{
    const bpfvm_insn *in = &j->code[k];
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    unsigned op = BPFVM_OP(info->code);
    byte_prov v = { PROV_NONE, 0, 0, 0 };
    switch (info->fmt) {
    case BPFVM__FMT_ALU_K:
        if (op == BPFVM_LSH && in->imm >= 8 && in->imm < (alu_w(info->code) ? 64 : 32))
            v.kind = PROV_ZERO;
        else if (op == BPFVM_LSH && in->imm == 0)
            v = p[in->dst];
        else if (op == BPFVM_AND && (in->imm & 0xff) == 0xff)
            v = p[in->dst];
        else if (op == BPFVM_MOV && (in->imm & 0xff) == 0)
            v.kind = PROV_ZERO;
        break;
    case BPFVM__FMT_ALU_X:
        if (op == BPFVM_MOV && info->value == 0)
            v = p[in->src];
        else if (op == BPFVM_OR && p[in->dst].kind == PROV_ZERO)
            v = p[in->src];
        else if (op == BPFVM_OR && p[in->src].kind == PROV_ZERO)
            v = p[in->dst];
        break;
    case BPFVM__FMT_NEG: case BPFVM__FMT_END: case BPFVM__FMT_LDDW:
        break;
    case BPFVM__FMT_LDX: {                             /* a reload: what was spilled */
        int s = prov_spill(in->src, in->off, bpfvm__jit_access_size(info->code));
        v = s >= 0 && p[s].kind != PROV_NONE ? p[s]
                                             : (byte_prov){ PROV_MEM, in->src, in->off, (uint32_t)k };
        break;
    }
    case BPFVM__FMT_ST: case BPFVM__FMT_STX: {
        unsigned size = bpfvm__jit_access_size(info->code);
        bool frame_apart = in->dst != BPFVM_R10 && gather_apart(j, BPFVM_R10, k, in->dst, k);
        for (int r = 0; r < PROV_N; r++) {             /* the bytes it may write */
            int32_t so = -8 * (r - PROV_REGS + 1);     /* (a frame slot's offset) */
            if ((p[r].kind == PROV_MEM &&
                 (p[r].base == in->dst ? p[r].off >= in->off && p[r].off < in->off + (int32_t)size
                                       : !gather_apart(j, p[r].base, p[r].slot, in->dst, k))) ||
                (r >= PROV_REGS && (in->dst == BPFVM_R10 ? so < in->off + (int32_t)size &&
                                                               so + 8 > in->off
                                                         : !frame_apart)))
                p[r].kind = PROV_NONE;
        }
        int s = info->fmt == BPFVM__FMT_STX ? prov_spill(in->dst, in->off, size) : -1;
        if (s >= 0)                                    /* a spill */
            p[s] = p[in->src];
        return true;
    }
    default:
        return false;
    }
    p[in->dst] = v;
    for (int r = 0; r < PROV_N; r++)                   /* based on the old value */
        if (p[r].kind == PROV_MEM && p[r].base == in->dst)
            p[r].kind = PROV_NONE;
    return true;
}

static bool comb_load(const bpfvm__jit *j, size_t k, gather_access *a, bool *unknown);

/* Is slot k a store this block's gathered copy already did? */
static bool gather_done(const bpfvm__jit *j, size_t k)
{
    size_t b = k - j->gathered.start;
    return j->gathered.end != 0 && !j->copying && j->gathered.copy == j->copy &&
           k > j->gathered.start && k <= j->gathered.end && b < 8 * sizeof j->gathered.done &&
           (j->gathered.done[b / 64] >> (b % 64) & 1);
}

static bool comb_out(const bpfvm__jit *j, size_t k);

/* Can load slot i go, needing no check and its value read by nothing but
 * the stores after it that the gathered copy already did (clang's reloads
 * of spilled bytes) and slots the plan of combined loads leaves out (a
 * spill nothing reloads; one of them writing the register ends its value,
 * as no code reads what they compute)? (Only then is liveness searched: it
 * costs compile time.) */
static bool load_dead(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    unsigned size = bpfvm__jit_access_size(bpfvm__ops[in->opcode].code);
    size_t k = i;
    if (!gather_unchecked(j, i, in->src, in->off, size))
        return false;
    while (k + 1 < j->count && (gather_done(j, k + 1) || comb_out(j, k + 1))) {
        unsigned use, def;
        bpfvm__jit_use_def(j, ++k, &use, &def);
        if (comb_out(j, k) && (def >> in->dst & 1))
            return true;                               /* (what it computes no code reads) */
    }
    return k > i && bpfvm__jit_dead_after(j, k, in->dst);
}

/* Record slot k's access (if it is one) and follow its effect; false where
 * the window must end (a slot the copy cannot cross, D written, a checked
 * access). A store of a byte loaded through D at the distance delta is a
 * candidate, unless it belongs to a run. */
static bool gather_slot(const bpfvm__jit *j, size_t k, int d, int32_t delta, bool in_run,
                        byte_prov p[PROV_N], gather_access *a, size_t *n)
{
    const bpfvm_insn *in = &j->code[k];
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    bool unknown;
    if (info->fmt == BPFVM__FMT_LDX || info->fmt == BPFVM__FMT_ST || info->fmt == BPFVM__FMT_STX) {
        int base = info->fmt == BPFVM__FMT_LDX ? in->src : in->dst;
        unsigned size = bpfvm__jit_access_size(info->code);
        if (!gather_unchecked(j, k, base, in->off, size) || *n == GATHER_SLOTS)
            return false;
        byte_prov v = p[in->src];
        a[*n] = (gather_access){ (uint32_t)k, (uint8_t)base, info->fmt != BPFVM__FMT_LDX,
                                 (uint8_t)size, !in_run && in->opcode == BPFVM__OP_STXB &&
                                 in->dst == d && v.kind == PROV_MEM && v.base == d &&
                                 in->off - v.off == delta, in->off };
        (*n)++;
    }
    if ((comb_load(j, k, &a[*n], &unknown) && ++*n == GATHER_SLOTS) || unknown)
        return false;
    bool writes = info->fmt == BPFVM__FMT_ALU_K || info->fmt == BPFVM__FMT_ALU_X ||
                  info->fmt == BPFVM__FMT_NEG || info->fmt == BPFVM__FMT_END ||
                  info->fmt == BPFVM__FMT_LDX || info->fmt == BPFVM__FMT_LDDW;
    return !(writes && in->dst == d) && prov_step(j, k, p);
}

/* The destination bytes [*lo, *hi) around slot i's that the candidates
 * cover, and the last slot storing one of them. */
static size_t gather_range(const gather_access *a, size_t n, int32_t *lo, int32_t *hi)
{
    uint64_t cover[2 * GATHER_BYTES / 64] = { 0 };
    int32_t origin = a[0].off - GATHER_BYTES;
    for (size_t m = 0; m < n; m++)
        if (a[m].cand && a[m].off >= origin && a[m].off < origin + 2 * GATHER_BYTES)
            cover[(a[m].off - origin) / 64] |= 1ull << ((a[m].off - origin) % 64);
    int32_t l = GATHER_BYTES, h = GATHER_BYTES + 1;
    while (l > 0 && (cover[(l - 1) / 64] >> ((l - 1) % 64) & 1))
        l--;
    while (h < 2 * GATHER_BYTES && (cover[h / 64] >> (h % 64) & 1))
        h++;
    *lo = origin + l;
    *hi = origin + h;
    size_t e = 0;
    for (size_t m = 0; m < n; m++)
        if (a[m].cand && a[m].off >= *lo && a[m].off < *hi)
            e = a[m].slot;
    return e;
}

/* Do the accesses of slots i + 1 .. e leave the copy [D + lo, D + hi) from
 * [D + lo - delta, ...) alone (see above)? */
static bool gather_apart_all(const bpfvm__jit *j, const gather_access *a, size_t n, int d,
                             int32_t lo, int32_t hi, int32_t delta, size_t e)
{
    for (size_t m = 1; m < n && a[m].slot <= e; m++) {
        int32_t o = a[m].off, z = (int32_t)a[m].size;
        if (a[m].cand && o >= lo && o < hi)
            continue;
        if (a[m].base != d ? !gather_apart(j, a[m].base, a[m].slot, d, a[0].slot)
                           : (o < hi && o + z > lo) ||
                                 (a[m].store && o < hi - delta && o + z > lo - delta))
            return false;
    }
    return true;
}

/* A gathered copy starting with the byte store at slot i (see above); 0 if
 * none. */
static size_t emit_gather(bpfvm__jit *j, size_t i)
{
    if (gather_done(j, i))
        return 1;
    if (i <= j->gathered.start || i > j->gathered.end || j->gathered.copy != j->copy)
        j->gathered.end = 0;                           /* (a new translation of the slots) */
    const bpfvm_insn *in = &j->code[i];
    int d = in->dst;
    if (j->copying || !gather_unchecked(j, i, d, in->off, 1))
        return 0;
    byte_prov p[PROV_N];
    memset(p, 0, sizeof p);
    size_t b0 = i;                                     /* the block's start */
    while (b0 > 0 && i - b0 < GATHER_SLOTS && run_continues(j, b0))
        b0--;
    for (size_t k = b0; k < i; k++) {
        if (!prov_step(j, k, p))
            memset(p, 0, sizeof p);
        k += bpfvm__ops[j->code[k].opcode].fmt == BPFVM__FMT_LDDW;
    }
    byte_prov v = p[in->src];
    if (v.kind != PROV_MEM || v.base != d)
        return 0;
    int32_t delta = in->off - v.off, lo, hi;
    gather_access a[GATHER_SLOTS];
    size_t n = 0;
    mem_run r;
    bool go = true;
    for (size_t k = i; go && k < j->count && k - i < GATHER_SLOTS &&
                       (k == i || run_continues(j, k));) {
        int fmt = bpfvm__ops[j->code[k].opcode].fmt;
        bool run = k > i && (fmt == BPFVM__FMT_LDX || fmt == BPFVM__FMT_ST ||
                             fmt == BPFVM__FMT_STX) && match_run(j, k, &r);
        for (size_t end = run ? k + r.slots : k + 1; go && k < end; k++) {
            go = gather_slot(j, k, d, delta, run, p, a, &n);
            k += bpfvm__ops[j->code[k].opcode].fmt == BPFVM__FMT_LDDW;
        }
    }
    size_t e = gather_range(a, n, &lo, &hi);
    if (hi - lo < 2 || (delta < hi - lo && -delta < hi - lo) ||
        !gather_apart_all(j, a, n, d, lo, hi, delta, e))
        return 0;
    /* inside an earlier copy's window: that copy wrote its bytes early, so
     * its source must be none of them (they may differ from what the
     * loads of the source got) */
    if (j->gathered.end != 0 && (j->gathered.reg != d ||
                                 (lo - delta < j->gathered.hi && hi - delta > j->gathered.lo)))
        return 0;
    r.kind = RUN_COPY;
    r.sreg = r.dreg = d;
    r.delta = delta;
    emit_run_chunks(j, &r, lo, hi, 16);
    if (j->gathered.end == 0) {                        /* else inside an earlier one's window */
        memset(&j->gathered, 0, sizeof j->gathered);
        j->gathered.copy = j->copy;
        j->gathered.start = (uint32_t)i;
        j->gathered.reg = d;
        j->gathered.lo = lo;
        j->gathered.hi = hi;
    }
    j->gathered.lo = lo < j->gathered.lo ? lo : j->gathered.lo;
    j->gathered.hi = hi > j->gathered.hi ? hi : j->gathered.hi;
    j->gathered.end = e > j->gathered.end ? (uint32_t)e : j->gathered.end;
    for (size_t m = 1; m < n; m++) {
        size_t b = a[m].slot - j->gathered.start;
        if (a[m].cand && a[m].off >= lo && a[m].off < hi && a[m].slot <= e &&
            b < 8 * sizeof j->gathered.done)
            j->gathered.done[b / 64] |= 1ull << (b % 64);
    }
    return 1;
}

/* ---- combined loads ------------------------------------------------------ */

/* clang assembles little-endian values from bytes it loads one at a time
 * (memops: w3 = w0; w3 <<= 8; w3 |= w1; ... r6 <<= 32; r6 |= r4), where one
 * load of 2, 4 or 8 bytes would do. A stretch of a block (nothing jumps
 * into it; it ends before a jump, call, exit, atomic or packet load, or
 * after COMB_SLOTS slots) is planned from its first load of 1, 2 or 4 bytes
 * or byte store on, when that slot is translated:
 *
 * - forward, what the registers hold: in a combination, byte p of the
 *   value is memory's byte [r(base) + origin + p] as it was loaded, for
 *   each p of a mask, and every other byte is zero. A zero-extending load
 *   of 1, 2 or 4 bytes makes one; mov, lsh by whole bytes losing none (both
 *   within 4 bytes for the w forms, which zero-extend) and or of two
 *   combinations of one base and origin with disjoint masks keep one; an
 *   8-byte reload of a frame slot a combination was spilled to gives it
 *   back. A store that may write a combination's bytes (through its base
 *   at overlapping offsets, through another register unless gather_apart
 *   proves otherwise) or a write of its base ends it (the register keeps
 *   its value, which is no combination any more).
 * - backward, which values are needed: those read by a slot translated as
 *   usual, and those that may be read after the stretch (dead_after). An or
 *   making a whole combination (mask of the low 2, 4 or 8 bytes) that is
 *   needed is a ROOT: one load of those bytes, zero-extended, reading none
 *   of its operands. A slot making a combination that is not needed (and
 *   is read by one making another, or is a reload of a spill) is OUT: no
 *   code. So is a spill of a combination whose every reload in the stretch
 *   is OUT, whose bytes nothing else in the stretch reads and no path from
 *   its end reads before writing (bpfvm__jit_frame_dead). A byte store of a
 *   value whose slot is OUT, byte 0 of it memory's byte
 *   [r(base) + origin], is MEM: that byte is loaded again and stored.
 *
 * Exact: every register read by the code emitted holds its value (OUT only
 * where nothing emitted reads it), and a ROOT's or MEM's bytes still hold
 * what the loads read (no store to them since, the base unchanged). In
 * checked mode a load is OUT only if it needs no check (the frame at
 * constant offsets, an access the program's compares prove, or one the
 * guard of the loop being copied proves), so no fault moves or goes; the
 * bytes a ROOT or MEM loads were all read before it in the stretch (by
 * checked loads or such ones). The budget is charged per block, whatever
 * is emitted. A fused shape starting at a plain slot that would take a
 * planned one is undone (emit_insn), and a gathered copy counts a ROOT's
 * or MEM's bytes as read at its slot (gather_slot). */

#define COMB_SLOTS 256
#define COMB_SPILLS 8
enum { COMB_PLAIN, COMB_OUT, COMB_ROOT, COMB_MEM };
enum { CF_TREE = 1, CF_WHOLE = 2, CF_KEEP = 4, CF_MEMC = 8, CF_USED = 16, CF_SPILL = 32,
       CF_RELOAD = 64 };
#define COMB_RELOADS 4

typedef struct comb_val {  /* (bit r of a plan's `live`: r holds one) */
    bool hoisted;          /* its loads are all hoisted or proven */
    uint8_t base, mask;    /* bit p of mask: byte p of the value is memory's byte */
    int32_t origin;        /* [r(base) + origin + p]; the other bytes are zero */
    uint32_t leaf;         /* one of its loads (for gather_apart) */
} comb_val;

/* May the store of slot k through r(dst) at [off, + size) write c's bytes? */
static bool comb_hit(const bpfvm__jit *j, const comb_val *c, size_t k, int dst, int32_t off,
                     unsigned size)
{
    if (c->base == dst)
        for (int p = 0; p < 8; p++)
            if ((c->mask >> p & 1) && off <= c->origin + p && c->origin + p < off + (int32_t)size)
                return true;
    return c->base != dst && !gather_apart(j, c->base, c->hoisted ? c->leaf : j->count, dst, k);
}

/* Does slot k (ALU) make a combination (*out) of d and x (its destination's
 * and source's, NULL where none)? mov, lsh by whole bytes that loses none,
 * or of disjoint bytes of one origin; within 4 bytes for the w forms. */
static bool comb_alu(const bpfvm__jit *j, size_t k, const comb_val *d, const comb_val *x,
                     comb_val *out)
{
    const bpfvm_insn *in = &j->code[k];
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    unsigned limit = alu_w(info->code) ? 0x100 : 0x10, op = BPFVM_OP(info->code);
    if (info->fmt == BPFVM__FMT_ALU_X && op == BPFVM_MOV && info->value == 0 && x &&
        x->mask < limit) {
        *out = *x;
        return true;
    }
    if (info->fmt == BPFVM__FMT_ALU_K && op == BPFVM_LSH && d && in->imm >= 0 && in->imm < 64 &&
        in->imm % 8 == 0 && (unsigned)d->mask << in->imm / 8 < limit) {
        *out = *d;
        out->mask = (uint8_t)(d->mask << in->imm / 8);
        out->origin = d->origin - in->imm / 8;
        return true;
    }
    if (info->fmt == BPFVM__FMT_ALU_X && op == BPFVM_OR && in->dst != in->src && d && x &&
        d->base == x->base && d->origin == x->origin && !(d->mask & x->mask) &&
        d->mask < limit && x->mask < limit) {
        *out = *d;
        out->mask = (uint8_t)(d->mask | x->mask);
        out->hoisted = d->hoisted && x->hoisted;
        return true;
    }
    return false;
}

/* The end of the stretch from slot s (c->capped: cut short by COMB_SLOTS),
 * and whether it is worth planning: an or of registers after a load of 1, 2
 * or 4 bytes (most stretches have none). */
static size_t comb_end(const bpfvm__jit *j, size_t s, bool *capped, bool *worth)
{
    size_t k = s;
    bool load = false;
    *capped = *worth = false;
    for (; k < j->count && (k == s || run_continues(j, k)); k++) {
        int op = j->code[k].opcode, fmt = bpfvm__ops[op].fmt;
        bool lddw = fmt == BPFVM__FMT_LDDW;
        if (!lddw && fmt != BPFVM__FMT_ALU_K && fmt != BPFVM__FMT_ALU_X &&
            fmt != BPFVM__FMT_NEG && fmt != BPFVM__FMT_END && fmt != BPFVM__FMT_LDX &&
            fmt != BPFVM__FMT_ST && fmt != BPFVM__FMT_STX)
            break;
        if (k - s + lddw >= COMB_SLOTS) {
            *capped = true;
            break;
        }
        load |= op == BPFVM__OP_LDXB || op == BPFVM__OP_LDXH || op == BPFVM__OP_LDXW;
        *worth |= load && (op == BPFVM__OP_OR64_X || op == BPFVM__OP_OR32_X);
        k += lddw;
    }
    return k > s ? k : s + 1;                          /* (a slot that is no stretch: itself) */
}

/* The plan's backward pass (see above) over the stretch [s, e): the kinds
 * of its slots from what they read (rd), make (flags), what registers hold
 * at its end (prod) and which of them may be read after it (bit r of
 * live); a spill marked CF_SPILL is OUT. */
static void comb_need(struct bpfvm__jit_comb *c, size_t s, size_t e, const int16_t prod[11],
                      unsigned live, int16_t rd[][3], const uint8_t *flags)
{
    uint8_t need[COMB_SLOTS];
    size_t n = e - s;
    memset(need, 0, n);
    for (int r = 0; r < 11; r++)
        if (prod[r] >= 0 && (flags[prod[r]] & CF_TREE) && (live >> r & 1))
            need[prod[r]] = 1;
    for (size_t w = n; w-- > 0;) {
        uint8_t f = flags[w];
        int kind = (f & CF_WHOLE) && need[w]                   ? COMB_ROOT
                   : ((f & (CF_TREE | CF_KEEP)) == CF_TREE && (f & (CF_USED | CF_RELOAD)) &&
                      !need[w]) ||
                           (f & CF_SPILL)
                       ? COMB_OUT
                   : (f & CF_MEMC)                             ? COMB_MEM
                                                               : COMB_PLAIN;
        c->kind[w] = (uint8_t)kind;
        for (int m = 0; m < 3; m++)
            if (rd[w][m] >= 0 && (kind == COMB_PLAIN ? m < 2 : kind == COMB_ROOT ? m == 2
                                                              : kind == COMB_MEM && m != 1))
                need[rd[w][m]] = 1;
    }
    c->active = false;
    for (size_t w = 0; w < n; w++) {
        if (c->kind[w] == COMB_MEM && c->kind[rd[w][1]] != COMB_OUT)
            c->kind[w] = COMB_PLAIN;                   /* (its value is there) */
        c->active |= c->kind[w] != COMB_PLAIN;
    }
}

/* Plan the stretch from slot s (see above). */
static void comb_plan(bpfvm__jit *j, size_t s)
{
    struct bpfvm__jit_comb *c = &j->comb;
    comb_val v[11], spill[COMB_SPILLS];
    int32_t spill_off[COMB_SPILLS];
    bool spill_valid[COMB_SPILLS], spill_dead[COMB_SPILLS]; /* dead: read only by reloads */
    uint16_t spill_w[COMB_SPILLS], reload[COMB_SPILLS][COMB_RELOADS];
    uint8_t nreload[COMB_SPILLS];
    size_t nspill = 0;
    uint32_t live = 0;           /* bit r: v[r] is a combination */
    int16_t prod[11];            /* the slot each register's value comes from (-1: before) */
    int16_t rd[COMB_SLOTS][3];   /* the slots whose values a slot reads: dst, src, base */
    uint8_t flags[COMB_SLOTS];   /* CF_*; CF_USED: read by a slot making a combination */
    bool any, whole = false;     /* worth a look; some or makes a whole combination */
    memset(prod, 0xff, sizeof prod);
    c->copy = j->copy;
    c->start = (uint32_t)s;
    c->active = false;
    size_t e = comb_end(j, s, &c->capped, &any);
    c->end = (uint32_t)e;
    memset(c->kind, COMB_PLAIN, e - s);
    for (size_t k = s; any && k < e; k++) {
        size_t w = k - s;
        const bpfvm_insn *in = &j->code[k];
        const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
        int fmt = info->fmt;
        bool alu = fmt == BPFVM__FMT_ALU_K || fmt == BPFVM__FMT_ALU_X ||
                   fmt == BPFVM__FMT_NEG || fmt == BPFVM__FMT_END;
        const comb_val *d = live >> in->dst & 1 ? &v[in->dst] : NULL;
        const comb_val *x = live >> in->src & 1 ? &v[in->src] : NULL;
        comb_val out;
        bool made = false;
        flags[w] = 0;
        rd[w][0] = rd[w][1] = rd[w][2] = -1;
        if (fmt == BPFVM__FMT_ST || fmt == BPFVM__FMT_STX) {
            unsigned size = bpfvm__jit_access_size(info->code);
            rd[w][0] = prod[in->dst];
            if (fmt == BPFVM__FMT_STX)
                rd[w][1] = prod[in->src];
            if (in->opcode == BPFVM__OP_STXB && x && (x->mask & 1) && in->src != in->dst) {
                flags[w] = CF_MEMC;                    /* a MEM, if x's slot is OUT */
                rd[w][2] = prod[x->base];
                c->base[w] = x->base;
                c->off[w] = x->origin;
                c->size[w] = 1;
            }
            for (uint32_t m = live; m; m &= m - 1) {
                int r = __builtin_ctz(m);
                if (comb_hit(j, &v[r], k, in->dst, in->off, size))
                    live &= ~(1u << r);
            }
            for (size_t m = 0; m < nspill; m++)        /* its bytes, or the frame slot */
                spill_valid[m] &=
                    !comb_hit(j, &spill[m], k, in->dst, in->off, size) &&
                    !(in->dst == BPFVM_R10
                          ? in->off < spill_off[m] + 8 && in->off + (int32_t)size > spill_off[m]
                          : !gather_apart(j, BPFVM_R10, k, in->dst, k));
            if (in->opcode == BPFVM__OP_STXDW && in->dst == BPFVM_R10 && (live >> in->src & 1) &&
                nspill < COMB_SPILLS) {
                spill[nspill] = v[in->src];
                spill_valid[nspill] = spill_dead[nspill] = true;
                spill_w[nspill] = (uint16_t)w;
                nreload[nspill] = 0;
                spill_off[nspill++] = in->off;
            }
            continue;
        }
        if (alu) {
            bool mov = BPFVM_OP(info->code) == BPFVM_MOV && fmt != BPFVM__FMT_NEG &&
                       fmt != BPFVM__FMT_END;
            rd[w][0] = mov ? -1 : prod[in->dst];
            rd[w][1] = fmt == BPFVM__FMT_ALU_X ? prod[in->src] : -1;
            made = (d || x) && comb_alu(j, k, d, x, &out);
            if (made && BPFVM_OP(info->code) == BPFVM_OR &&
                (out.mask == 0x3 || out.mask == 0xf || out.mask == 0xff)) {
                flags[w] = CF_WHOLE;
                rd[w][2] = prod[out.base];
                c->base[w] = out.base;
                c->off[w] = out.origin;
                c->size[w] = (uint8_t)(out.mask == 0x3 ? 2 : out.mask == 0xf ? 4 : 8);
                whole = true;
            }
        } else if (fmt == BPFVM__FMT_LDX) {
            unsigned size = bpfvm__jit_access_size(info->code);
            rd[w][0] = prod[in->src];
            if (in->opcode == BPFVM__OP_LDXB || in->opcode == BPFVM__OP_LDXH ||
                in->opcode == BPFVM__OP_LDXW) {
                out = (comb_val){ bpfvm__jit_proven(j, k), in->src,
                                  (uint8_t)((1u << size) - 1), in->off, (uint32_t)k };
                made = true;
                flags[w] = gather_unchecked(j, k, in->src, in->off, size) ? 0 : CF_KEEP;
            }
            for (size_t m = 0; m < nspill && in->src == BPFVM_R10; m++) { /* a read of a spill */
                if (in->off >= spill_off[m] + 8 || in->off + (int32_t)size <= spill_off[m])
                    continue;
                bool back = in->opcode == BPFVM__OP_LDXDW && in->off == spill_off[m] &&
                            spill_valid[m] && bpfvm__jit_in_frame(j, in->src, in->off, 8);
                if (back) {                            /* a reload: the spilled value */
                    out = spill[m];
                    made = true;
                    flags[w] = CF_RELOAD;
                }
                if (back && nreload[m] < COMB_RELOADS)
                    reload[m][nreload[m]++] = (uint16_t)w;
                else
                    spill_dead[m] = false;
            }
        } else {                                       /* lddw */
            flags[w + 1] = 0;
            rd[w + 1][0] = rd[w + 1][1] = rd[w + 1][2] = -1;
            k++;
        }
        if (made) {
            flags[w] |= CF_TREE;
            for (int m = 0; m < 2; m++)
                if (rd[w][m] >= 0)
                    flags[rd[w][m]] |= CF_USED;
            v[in->dst] = out;
        }
        prod[in->dst] = (int16_t)w;
        live = (live & ~(1u << in->dst)) | (uint32_t)made << in->dst;
        for (uint32_t m = live; m; m &= m - 1) {       /* based on the old value */
            int r = __builtin_ctz(m);
            if (v[r].base == in->dst)
                live &= ~(1u << r);
        }
        for (size_t m = 0; m < nspill; m++)
            spill_valid[m] &= spill[m].base != in->dst;
    }
    if (!whole)
        return;
    /* spills whose every reload may have no code, and no read after */
    for (size_t m = 0; m < nspill; m++) {
        if (spill_dead[m] && nreload[m] > 0 && bpfvm__jit_frame_dead(j, e, spill_off[m], 8))
            flags[spill_w[m]] |= CF_SPILL;
    }
    size_t last = e - 1;                               /* (the stretch's last slot) */
    if (e - s > 1 && bpfvm__ops[j->code[e - 2].opcode].fmt == BPFVM__FMT_LDDW)
        last = e - 2;
    unsigned after = 0;                                /* registers read after it */
    for (int r = 0; r < 11; r++)
        if (prod[r] >= 0 && (flags[prod[r]] & CF_TREE) && !bpfvm__jit_dead_after(j, last, r))
            after |= 1u << r;
    for (;;) {
        comb_need(c, s, e, prod, after, rd, flags);
        bool again = false;                            /* a reload has code: its spill too */
        for (size_t m = 0; m < nspill && !again; m++)
            for (unsigned r = 0; r < nreload[m] && (flags[spill_w[m]] & CF_SPILL); r++)
                if (c->kind[reload[m][r]] != COMB_OUT) {
                    flags[spill_w[m]] &= (uint8_t)~CF_SPILL;
                    again = true;
                }
        if (!again)
            break;
    }
}

/* The plan's kind of slot i. A slot no plan covers starts one if it is a
 * load of 1, 2 or 4 bytes or a byte store (a gathered copy's first store
 * looks at the plan of the slots after it); before the first of those, a
 * stretch has nothing to plan. Copies of short blocks are translated as
 * they are. */
static int comb_kind(bpfvm__jit *j, size_t i)
{
    const struct bpfvm__jit_comb *c = &j->comb;
    if (j->copying)
        return COMB_PLAIN;
    if (c->end == 0 || c->copy != j->copy || i < c->start || i >= c->end) {
        int op = j->code[i].opcode;
        if (op != BPFVM__OP_LDXB && op != BPFVM__OP_LDXH && op != BPFVM__OP_LDXW &&
            op != BPFVM__OP_STXB)
            return COMB_PLAIN;
        comb_plan(j, i);
    }
    return c->kind[i - c->start];
}

/* For a gathered copy's window: a ROOT's or MEM's bytes at slot k as a load
 * (*a; true), false if none. *unknown: k lies past a plan that was cut
 * short, so whether it is one is not known. */
static bool comb_load(const bpfvm__jit *j, size_t k, gather_access *a, bool *unknown)
{
    const struct bpfvm__jit_comb *c = &j->comb;
    bool planned = c->end != 0 && c->copy == j->copy && k >= c->start;
    *unknown = planned && k >= c->end && c->capped;
    if (!planned || k >= c->end || (c->kind[k - c->start] != COMB_ROOT &&
                                    c->kind[k - c->start] != COMB_MEM))
        return false;
    size_t w = k - c->start;
    *a = (gather_access){ (uint32_t)k, c->base[w], false, c->size[w], false, c->off[w] };
    return true;
}

/* Slot i as the plan has it: nothing (OUT), one load (ROOT), or the byte
 * stored loaded again from memory (MEM, unless a gathered copy does it). */
static size_t emit_comb(bpfvm__jit *j, size_t i, int kind)
{
    const struct bpfvm__jit_comb *c = &j->comb;
    const bpfvm_insn *in = &j->code[i];
    size_t w = i - c->start;
    int base = reg_map[c->base[w]];
    if (kind == COMB_ROOT) {
        unsigned z = c->size[w];
        emit_load(j, z == 2 ? BPFVM__OP_LDXH : z == 4 ? BPFVM__OP_LDXW : BPFVM__OP_LDXDW,
                  reg_map[in->dst], base, -1, 0, c->off[w]);
    } else if (kind == COMB_MEM && !emit_gather(j, i)) {
        emit_access_check(j, i, in->dst, in->off, 1, 1);
        emit_rm(j, 0, 0x0fb6, R11, base, c->off[w]);  /* movzx r11d, byte [base + lo] */
        emit_rm(j, BYTE, 0x88, R11, reg_map[in->dst], in->off); /* mov [dst + off], r11b */
    }
    return 1;
}

/* Is slot k one the current plan of combined loads leaves out (OUT)? */
static bool comb_out(const bpfvm__jit *j, size_t k)
{
    const struct bpfvm__jit_comb *c = &j->comb;
    return c->end != 0 && c->copy == j->copy && k >= c->start && k < c->end &&
           c->kind[k - c->start] == COMB_OUT;
}

/* emit_fused at a plain slot i, undone (0) when the shape took a slot the
 * plan of slot i's stretch does not translate as it is, or planned another
 * stretch meanwhile (which is planned again as before). */
static size_t emit_fused_planned(bpfvm__jit *j, const labels *l, size_t i)
{
    struct bpfvm__jit_comb *c = &j->comb;
    if (!c->active || j->copying || c->copy != j->copy || i < c->start || i >= c->end)
        return emit_fused(j, l, i);
    uint32_t start = c->start;
    size_t len = j->len, nfixups = j->nfixups, nstubs = j->nstubs, rmw = j->rmw_store;
    uint64_t blind = j->blind_state;
    uint8_t saved[sizeof j->run_wrote + sizeof j->gathered];
    memcpy(saved, &j->run_wrote, sizeof j->run_wrote);
    memcpy(saved + sizeof j->run_wrote, &j->gathered, sizeof j->gathered);
    size_t n = emit_fused(j, l, i);
    bool taken = c->start != start;
    for (size_t k = i + 1; k < i + n && k < c->end && !taken; k++)
        taken = c->kind[k - c->start] != COMB_PLAIN;
    if (!taken)
        return n;
    j->len = len;
    j->nfixups = nfixups;
    j->nstubs = nstubs;
    j->rmw_store = rmw;
    j->blind_state = blind;
    memcpy(&j->run_wrote, saved, sizeof j->run_wrote);
    memcpy(&j->gathered, saved + sizeof j->run_wrote, sizeof j->gathered);
    if (c->start != start)
        comb_plan(j, start);
    return 0;
}

/* ---- stubs ------------------------------------------------------------- */

/* The threaded copy of a jcc (emit_thread); if emit_path gives up, the sunk
 * movs and a jump to the jcc's target. */
static void emit_thread_stub(bpfvm__jit *j, const labels *l, const bpfvm__jit_stub *s)
{
    size_t i = s->insn; /* (s moves if the copy adds stubs) */
    const out_copy *c = (const out_copy *)j->out_copies + s->resume;
    if (!emit_copy(j, l, i, &c->p, c->sunk)) {
        if (c->sunk != UINT32_MAX)
            emit_sunk(j, c->sunk, i);
        emit_goto_slot(j, -1, i, c->t);
    }
}

static void emit_stub(bpfvm__jit *j, const labels *l, const bpfvm__jit_stub *s)
{
    if (s->kind == BPFVM__STUB_THREAD) {
        emit_thread_stub(j, l, s);
        return;
    }
    if (s->kind == BPFVM__STUB_CONST) {
        emit4(j, s->insn);                             /* the constant (emit_lddw_pool) */
        emit4(j, s->resume);
        return;
    }
    if (s->kind != BPFVM__STUB_MEMORY) {
        emit_mov_imm(j, RSI, s->insn);                 /* mov esi, insn */
        emit_jmp_ref(j, BPFVM__FIX_ABS,
                     s->kind == BPFVM__STUB_BUDGET ? l->raise_budget : l->raise_calldepth);
        return;
    }
    int x = reg_map[s->reg];
    if (s->write != 3) { /* atomics: always the C check, which tests alignment too */
        /* the region the fast path did not try */
        if (s->reg == BPFVM_R10 || (j->marks[s->insn] & BPFVM__MARK_STACK))
            emit_mem_check(j, x, s->off, s->size);
        else
            emit_frame_check(j, x, s->off, s->size);
        emit_jcc_ref(j, CC_B, BPFVM__FIX_ABS, s->resume); /* jb resume */
    }
    if (s->write != 3 && !s->rmw) {
        /* the region the slow path last allowed for this kind of access:
         * lea r11, [x + off]; add r11, [r13+cache_neg]; cmp r11, [r13+cache_lim] */
        int32_t c = s->write ? ST_OFF(cache[1]) : ST_OFF(cache[0]);
        emit_rm(j, W, 0x8d, R11, x, s->off);
        emit_rm(j, W, 0x03, R11, STATE, c + ST_OFF(cache[0].neg) - ST_OFF(cache[0]));
        emit_rm(j, W, 0x3b, R11, STATE,
                c + ST_OFF(cache[0].lim) - ST_OFF(cache[0]) + 8 * size_index(s->size));
        emit_jcc_ref(j, CC_B, BPFVM__FIX_ABS, s->resume); /* jb resume */
    }
    emit_rm(j, W, 0x8d, RDI, x, s->off);               /* lea rdi, [x + off] */
    emit_mov_imm(j, R11, (uint64_t)s->rmw << 32 | (uint64_t)s->insn << 6 |
                             (uint64_t)s->write << 4 | s->size);
    emit_call_ref(j, BPFVM__FIX_ABS, l->check_slow);   /* call check_slow */
    emit_jmp_ref(j, BPFVM__FIX_ABS, s->resume);        /* jmp resume */
}

/* ---- one pass ---------------------------------------------------------- */

/* ---- displacements and shortening -------------------------------------- */

/* Loop heads: the first translation reserves MAX_PAD bytes before each;
 * shorten() then pads them with long NOPs as loop_pad() says (a loop of at
 * most half a line within a half line, of at most a line at a line's start,
 * a larger one on a 16-byte boundary). */
#define LINE 64u
#define MAX_PAD (LINE - 1)

static void write_nops(uint8_t *p, unsigned n)
{
    static const uint8_t nops[8][8] = {
        { 0x90 },                                           /* nop */
        { 0x66, 0x90 },                                     /* xchg ax, ax */
        { 0x0f, 0x1f, 0x00 },                               /* nop [rax] */
        { 0x0f, 0x1f, 0x40, 0x00 },                         /* nop [rax+0] */
        { 0x0f, 0x1f, 0x44, 0x00, 0x00 },                   /* nop [rax+rax+0] */
        { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },             /* nop word [rax+rax+0] */
        { 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },       /* nop [rax+0] (disp32) */
        { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* nop [rax+rax+0] (disp32) */
    };
    while (n > 0) {
        unsigned k = n > 8 ? 8 : n;
        memcpy(p, nops[k - 1], k);
        p += k;
        n -= k;
    }
}

/* MAX_PAD bytes of room for aligning a loop head (NOPs until shortened):
 * kind BPFVM__FIX_PAD for slot `index`, BPFVM__FIX_PAD_COPY for the copy of a
 * versioned loop (index: its size, set once emitted) */
static void emit_pad(bpfvm__jit *j, int kind, size_t index)
{
    bpfvm__jit_room(j, MAX_PAD);
    write_nops(j->buf + j->len, MAX_PAD);
    j->len += MAX_PAD;
    bpfvm__jit_add_fixup(j, here(j), index, kind, MAX_PAD);
}

/* Fill in every displacement recorded by emit_ref. */
static void apply_fixups(bpfvm__jit *j)
{
    if (j->err)
        return;
    for (size_t k = 0; k < j->nfixups; k++) {
        const bpfvm__jit_fixup *f = &j->fixups[k];
        if (f->kind == BPFVM__FIX_PAD || f->kind == BPFVM__FIX_PAD_COPY)
            continue;
        int64_t d = (int64_t)bpfvm__jit_fixup_target(j, f) - (int64_t)f->at;
        uint8_t *p = j->buf + f->at - f->width;
        if (f->width == 1) {
            if (!is_imm8(d))
                j->err = BPFVM_EJIT;
            p[0] = (uint8_t)d;
        } else {
            uint32_t v = (uint32_t)d;
            p[0] = (uint8_t)v;
            p[1] = (uint8_t)(v >> 8);
            p[2] = (uint8_t)(v >> 16);
            p[3] = (uint8_t)(v >> 24);
        }
    }
}

static bool can_shorten(const bpfvm__jit *j, const bpfvm__jit_fixup *f)
{
    return f->kind == BPFVM__FIX_PAD || f->kind == BPFVM__FIX_PAD_COPY ||
           ((f->kind == BPFVM__FIX_SLOT_JUMP || f->kind == BPFVM__FIX_COPY_JUMP) &&
            is_imm8((int64_t)bpfvm__jit_fixup_target(j, f) - (int64_t)f->at));
}

/* Bytes removed before code offset p: shrink points at[] (ends of the
 * shortened jumps, ascending) with cumulative removals cum[]. */
typedef struct shrink {
    const uint32_t *at, *cum;
    size_t n, k; /* k: cursor for ascending queries */
} shrink;

static uint32_t moved(shrink *sh, uint32_t p)
{
    while (sh->k < sh->n && sh->at[sh->k] <= p)
        sh->k++;
    return sh->k ? sh->cum[sh->k - 1] : 0;
}

static uint32_t moved_any(const shrink *sh, uint32_t p)
{
    size_t lo = 0, hi = sh->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sh->at[mid] <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? sh->cum[lo - 1] : 0;
}

/* NOPs before a loop head at column col of a line for a loop of size bytes
 * (an upper bound): a loop of at most half a line does not cross a half
 * line, a loop of at most a line starts one, a larger loop starts on a
 * 16-byte boundary. The core fetches 32-byte blocks: a short loop's
 * iteration then takes one fetch block, a line-sized loop's fewest. */
static unsigned loop_pad(uint32_t col, uint32_t size)
{
    uint32_t half = LINE / 2;
    if (size <= half)
        return (col & (half - 1)) + size > half ? (half - col) & (half - 1) : 0;
    if (size <= LINE)
        return (LINE - col) & (LINE - 1);
    return (16 - (col & 15)) & 15;
}

/* Turn each jump between slots whose distance fits in a byte into its rel8
 * form (jmp 5 -> 2 bytes, jcc 6 -> 2), sliding the code after it down, then
 * move every offset and refill every displacement. Removing bytes only
 * shortens distances, so every jump chosen still fits. */
static void shorten(bpfvm__jit *j)
{
    size_t n = 0;
    for (size_t k = 0; k < j->nfixups; k++)
        n += can_shorten(j, &j->fixups[k]);
    if (n == 0 || j->err)
        return;
    uint32_t *at = bpfvm__alloc(j->vm, 2 * n * sizeof(*at));
    if (!at) {
        j->err = BPFVM_ENOMEM;
        return;
    }
    uint32_t *cum = at + n;
    uint32_t src = 0, dst = 0, removed = 0;
    /* each loop's size so far: from its head to the end of its last
     * backward jump (an upper bound of its final size); of the loops with
     * one head, the largest that fits a line (the inner ones), if any */
    uint32_t *extent = bpfvm__alloc(j->vm, (j->count + 1) * sizeof(*extent));
    if (!extent) {
        bpfvm__free(j->vm, at);
        j->err = BPFVM_ENOMEM;
        return;
    }
    for (size_t k = 0; k < j->nfixups; k++) {
        const bpfvm__jit_fixup *f = &j->fixups[k];
        if (f->kind == BPFVM__FIX_PAD)
            extent[f->index] = 0;
    }
    for (size_t k = 0; k < j->nfixups; k++) {
        const bpfvm__jit_fixup *f = &j->fixups[k];
        if ((f->kind == BPFVM__FIX_SLOT || f->kind == BPFVM__FIX_SLOT_JUMP) &&
            (j->marks[f->index] & BPFVM__MARK_LOOP) && j->off[f->index] < f->at &&
            f->at <= j->off[j->count]) {
            uint32_t d = f->at - j->off[f->index], *e = &extent[f->index];
            bool fits = d <= LINE, had = *e != 0 && *e <= LINE;
            if (*e == 0 || (fits && !had) || (fits == had && d > *e))
                *e = d;
        }
    }
    size_t m = 0;
    for (size_t k = 0; k < j->nfixups; k++) {
        bpfvm__jit_fixup *f = &j->fixups[k];
        if (!can_shorten(j, f))
            continue;
        if (f->kind == BPFVM__FIX_PAD || f->kind == BPFVM__FIX_PAD_COPY) {
            uint32_t start = f->at - MAX_PAD, col;
            uint32_t size = f->kind == BPFVM__FIX_PAD ? extent[f->index] : f->index;
            memmove(j->buf + dst, j->buf + src, start - src);
            dst += start - src;
            col = dst & (LINE - 1);
            /* the copy of a versioned loop, jumped to over its padding, starts
             * a line */
            unsigned pad = f->kind == BPFVM__FIX_PAD_COPY ? (LINE - col) & (LINE - 1)
                           : loop_pad(col, size);
            write_nops(j->buf + dst, pad);
            dst += pad;
            removed += MAX_PAD - pad;
            f->width = (uint8_t)pad;
        } else {
            uint8_t op = j->buf[f->at - 5];             /* 0xe9 (jmp) or 0x8x (jcc) */
            uint32_t len = op == 0xe9 ? 5 : 6, start = f->at - len;
            memmove(j->buf + dst, j->buf + src, start - src);
            dst += start - src;
            j->buf[dst++] = op == 0xe9 ? 0xeb : (uint8_t)(0x70 | (op & 0x0f)); /* rel8 */
            j->buf[dst++] = 0;
            removed += len - 2;
            f->width = 1;
        }
        at[m] = f->at;
        cum[m++] = removed;
        src = f->at;
    }
    memmove(j->buf + dst, j->buf + src, j->len - src);
    j->len -= removed;

    shrink sh = { at, cum, m, 0 };
    for (size_t i = 0; i <= j->count; i++)
        j->off[i] -= moved(&sh, j->off[i]);
    for (size_t k = 0; k < j->nloops; k++) {
        bpfvm__jit_loop *lp = &j->loops[k];
        lp->guard -= moved_any(&sh, lp->guard);
        for (size_t i = lp->head; i <= lp->last; i++)
            j->copy_off[i] -= moved_any(&sh, j->copy_off[i]);
    }
    for (size_t k = 0; k < j->nstubs; k++)
        j->stub_off[k] -= moved_any(&sh, j->stub_off[k]);
    sh.k = 0;
    for (size_t k = 0; k < j->nfixups; k++) {
        bpfvm__jit_fixup *f = &j->fixups[k];
        f->at -= moved(&sh, f->at);
        if (f->kind == BPFVM__FIX_ABS)
            f->index -= moved_any(&sh, f->index);
    }
    bpfvm__free(j->vm, at);
    bpfvm__free(j->vm, extent);
}

static void compile(bpfvm__jit *j)
{
    labels l;
    j->len = 0;
    j->nstubs = 0;
    j->nfixups = 0;
    j->rmw_store = 0;
    j->run_wrote.end = 0;
    j->gathered.end = 0;
    j->comb.end = 0;
    j->nthreads = j->nthreads_out = j->nthreaded = j->searched = 0;
    j->sunk.jcc = 0;
    emit_common(j, &l);
    for (size_t i = 0; i < j->count && !j->err;) {
        if (j->marks[i] & BPFVM__MARK_GUARD)
            emit_versioned(j, &l, bpfvm__jit_loop_at(j, i));
        if (j->marks[i] & BPFVM__MARK_LOOP)
            emit_pad(j, BPFVM__FIX_PAD, i);
        j->off[i] = here(j);
        size_t n = emit_insn(j, &l, i);
        for (size_t k = 1; k < n; k++)
            j->off[i + k] = here(j); /* never a jump target */
        i += n;
        if (j->sunk.jcc && i > j->sunk.jcc)          /* (a jump that did not take its movs) */
            j->err = BPFVM_EJIT;
        if (i < j->count && bpfvm__jit_many_in(j, i, 3) && falls_into(j, i - n, n))
            emit_thread(j, &l, i - 1, i, -1);
    }
    j->off[j->count] = here(j);
    /* falling off the end of the program */
    emit_mov_imm(j, RSI, j->count);
    emit_jmp_ref(j, BPFVM__FIX_ABS, l.raise_badcode);
    for (size_t k = 0; k < j->nstubs && !j->err; k++) {
        j->stub_off[k] = here(j);
        emit_stub(j, &l, &j->stubs[k]);
    }
    shorten(j);
    apply_fixups(j);
}

const bpfvm__jit_arch bpfvm__jit_host = { "x86-64", true, 0xccccccccu /* int3 */, compile };
#endif /* __x86_64__ */
