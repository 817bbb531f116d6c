/* A small bytecode interpreter: a stack machine with 16 opcodes, dispatched
 * through a switch (a jump table: an indirect jump per bytecode), 8 local
 * variables, running a loop program (an LCG, xor/shift mixing, a conditional
 * update and a nested inner loop) ITERS times.  The program is data (.data),
 * so the compiler cannot specialise the interpreter to it.
 * Checksum: the program's result variables and the count of bytecodes run. */
#include "bench.h"

#define ITERS 110000

const char bench_name[] = "bytecode";
const uint64_t bench_expected = 0x886082654fc2e9d4ull;

enum {
    HALT, PUSH, LOAD, STORE, ADD, SUB, MUL, XOR, AND, SHR, SHL, LT, JZ, JMP, DUP, INC
};

/* locals: 0 i, 1 n, 2 x, 3 acc, 4 j, 5 cnt */
static int32_t prog[] = {
    PUSH, 0, STORE, 0,                         /* i = 0 */
    /* 4: outer loop */
    LOAD, 0, LOAD, 1, LT, JZ, 83,              /* if !(i < n) goto end */
    LOAD, 2, PUSH, 1103515245, MUL, PUSH, 12345, ADD, STORE, 2,   /* x = x*a + c */
    LOAD, 2, LOAD, 2, PUSH, 13, SHR, XOR,                          /* x ^ (x >> 13) */
    LOAD, 3, ADD, STORE, 3,                                        /* acc += ... */
    LOAD, 2, PUSH, 3, AND, JZ, 48,                                 /* if (x & 3) */
    LOAD, 5, INC, STORE, 5,                                        /*   cnt++ */
    JMP, 48,
    /* 48: inner loop j = 0..3: acc = (acc << 1) ^ j */
    PUSH, 0, STORE, 4,
    /* 52 */
    LOAD, 4, PUSH, 4, LT, JZ, 76,
    LOAD, 3, PUSH, 1, SHL, LOAD, 4, XOR, STORE, 3,
    LOAD, 4, INC, STORE, 4,
    JMP, 52,
    /* 76: */
    LOAD, 0, INC, STORE, 0,
    JMP, 4,
    /* 83: end */
    HALT,
};

static uint64_t steps;

static void run(int32_t *code, int64_t *var)
{
    int64_t stack[16];
    int sp = 0;
    int32_t pc = 0;
    uint64_t n = 0;
    for (;;) {
        n++;
        int32_t op = code[pc++];
        switch (op) {
        case HALT: steps += n; return;
        case PUSH: stack[sp++] = code[pc++]; break;
        case LOAD: stack[sp++] = var[code[pc++]]; break;
        case STORE: var[code[pc++]] = stack[--sp]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] * (uint64_t)stack[sp]); break;
        case XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case AND: sp--; stack[sp - 1] &= stack[sp]; break;
        case SHR: sp--; stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] >> (stack[sp] & 63)); break;
        case SHL: sp--; stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] << (stack[sp] & 63)); break;
        case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case JZ: { int32_t t = code[pc++]; if (stack[--sp] == 0) pc = t; break; }
        case JMP: pc = code[pc]; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case INC: stack[sp - 1]++; break;
        default: steps = ~0ull; return;    /* bad opcode: a wrong answer */
        }
        if (sp < 0 || sp > 15) {             /* stack fault: a wrong answer */
            steps = ~0ull;
            return;
        }
    }
}

uint64_t workload(void)
{
    int64_t var[8] = {0, ITERS, 42, 0, 0, 0, 0, 0};
    run(prog, var);
    return (uint64_t)var[3] ^ ((uint64_t)var[2] << 17) ^ ((uint64_t)var[5] << 40) ^ steps;
}
