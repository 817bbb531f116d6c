# Zicond: czero.eqz rd, rs1, rs2 is 0 when rs2 == 0, else rs1; czero.nez is 0 when rs2 != 0, else
# rs1 (the whole 64-bit rs2 compared).  binutils 2.40 has no Zicond: the .insn encodings below.
# QEMU 7.2 has no Zicond either: there the first case traps (exit code 1, see build.sh).
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

#define CZERO_EQZ(rd, rs1, rs2) .insn r 0x33, 5, 7, rd, rs1, rs2
#define CZERO_NEZ(rd, rs1, rs2) .insn r 0x33, 7, 7, rd, rs1, rs2

TEST_BEGIN
    INSTALL_TRAP_HANDLER_M                      /* any trap fails the running case */

    # czero.eqz
    TEST_CASE(1, x14, 0, li x1, 0x1234; li x2, 0; CZERO_EQZ(x14, x1, x2))
    TEST_CASE(2, x14, 0x1234, li x1, 0x1234; li x2, 1; CZERO_EQZ(x14, x1, x2))
    TEST_CASE(3, x14, -1, li x1, -1; li x2, 0x8000000000000000; CZERO_EQZ(x14, x1, x2))
    TEST_CASE(4, x14, 0x8000000000000001, li x1, 0x8000000000000001; li x2, 0x100000000; CZERO_EQZ(x14, x1, x2))
    TEST_CASE(5, x14, 0, li x1, 0x1234; CZERO_EQZ(x14, x1, x0))                  /* rs2 = x0 */
    TEST_CASE(6, x14, 0, li x2, 7; CZERO_EQZ(x14, x0, x2))                       /* rs1 = x0 */
    TEST_CASE(7, x1, 0x55, li x1, 0x55; li x2, 2; CZERO_EQZ(x1, x1, x2))          /* rd = rs1 */
    TEST_CASE(8, x2, 0, li x1, 0x55; li x2, 0; CZERO_EQZ(x2, x1, x2))             /* rd = rs2 */
    TEST_CASE(9, x2, 9, li x2, 9; CZERO_EQZ(x2, x2, x2))                          /* all three */
    TEST_CASE(10, x0, 0, li x1, 5; li x2, 1; CZERO_EQZ(x0, x1, x2))               /* rd = x0 */

    # czero.nez
    TEST_CASE(11, x14, 0x1234, li x1, 0x1234; li x2, 0; CZERO_NEZ(x14, x1, x2))
    TEST_CASE(12, x14, 0, li x1, 0x1234; li x2, 1; CZERO_NEZ(x14, x1, x2))
    TEST_CASE(13, x14, 0, li x1, -1; li x2, 0x8000000000000000; CZERO_NEZ(x14, x1, x2))
    TEST_CASE(14, x14, 0, li x1, 0x8000000000000001; li x2, 0x100000000; CZERO_NEZ(x14, x1, x2))
    TEST_CASE(15, x14, 0x1234, li x1, 0x1234; CZERO_NEZ(x14, x1, x0))
    TEST_CASE(16, x14, 0, li x2, 0; CZERO_NEZ(x14, x0, x2))
    TEST_CASE(17, x1, 0x55, li x1, 0x55; li x2, 0; CZERO_NEZ(x1, x1, x2))
    TEST_CASE(18, x2, 0, li x1, 0x55; li x2, 3; CZERO_NEZ(x2, x1, x2))
    TEST_CASE(19, x2, 0, li x2, 9; CZERO_NEZ(x2, x2, x2))
    TEST_CASE(20, x0, 0, li x1, 5; li x2, 0; CZERO_NEZ(x0, x1, x2))

    # the spec's conditional select, rd = c ? a : b, both ways
    TEST_CASE(21, x14, 0xa, li x1, 0xa; li x2, 0xb; li x4, 1; CZERO_EQZ(x5, x1, x4); CZERO_NEZ(x6, x2, x4); or x14, x5, x6)
    TEST_CASE(22, x14, 0xb, li x1, 0xa; li x2, 0xb; li x4, 0; CZERO_EQZ(x5, x1, x4); CZERO_NEZ(x6, x2, x4); or x14, x5, x6)

    TEST_PASSFAIL
    TRAP_HANDLER_M
