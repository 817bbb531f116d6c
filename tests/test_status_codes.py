"""Status codes: one IntEnum family per boundary, and the plain ints njit code uses equal its members."""
from enum import Enum, IntEnum

import pytest

from emu import state, loop, cold, memory, native, mmu, debug
from emu.spec import (CAUSE_MISALIGNED_FETCH, CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS,
                      CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT)
from lifecycle.cli import runner

# (family, {plain module-level name: member}) -- the names the loop and the Python side use
from lifecycle.cli import main as cli
from lifecycle.cli import boot
from lifecycle.machine import board as machine
FAMILIES = [
    (state.Exit, {getattr(state, "EXIT_" + m.name): m for m in state.Exit}),
    (state.Fatal, {state.FATAL_NONE: state.Fatal.NONE, state.FATAL_TRAP_LOOP: state.Fatal.TRAP_LOOP}),
    (loop.Pending, {getattr(loop, "PENDING_" + m.name): m for m in loop.Pending}),
    (cold.Cold, {getattr(cold, m.name): m for m in cold.Cold}),
    (memory.MemStatus, {getattr(memory, m.name): m for m in memory.MemStatus}),
    (native.RegionStatus, {getattr(native, "REGION_" + m.name): m for m in native.RegionStatus}),
    (runner.ExitStatus, {getattr(runner, "EXIT_" + m.name): m for m in runner.ExitStatus}),
]


@pytest.mark.parametrize("family, plain", FAMILIES, ids=[f.__name__ for f, _ in FAMILIES])
def test_family_is_an_intenum_with_unique_values(family, plain):
    assert issubclass(family, IntEnum)
    values = [m.value for m in family.__members__.values()]
    assert len(values) == len(set(values)), f"{family.__name__} has aliases"
    assert len(plain) == len(family)


def test_njit_visible_ints_are_plain_ints_equal_to_the_members():
    # njit code reads these module globals: they must be exact ints (int64 constants), not enum members
    for mod, prefix, family in [(state, "EXIT_", state.Exit), (loop, "PENDING_", loop.Pending),
                                (native, "REGION_", native.RegionStatus)]:
        for m in family:
            v = getattr(mod, prefix + m.name)
            assert type(v) is int and v == m.value, (mod.__name__, m)
    for m in cold.Cold:
        assert type(getattr(cold, m.name)) is int and getattr(cold, m.name) == m
        assert getattr(cold, "COLD_" + m.name) == m
    for m in memory.MemStatus:
        assert type(getattr(memory, m.name)) is int and getattr(memory, m.name) == m
        assert getattr(memory, "MEM_" + m.name) == m
    assert type(state.FATAL_TRAP_LOOP) is int and state.FATAL_TRAP_LOOP == state.Fatal.TRAP_LOOP


def test_exit_names_follow_the_enum():
    assert state.EXIT_NAMES == tuple(m.name.lower() for m in state.Exit)
    assert state.EXIT_NAMES[state.EXIT_REGION] == "region"


def test_debugger_exits_ride_named_codes():
    # a breakpoint leaves the loop through the fatal path, a watchpoint through the HTIF path (emu/state.py)
    assert state.EXIT_DEBUG_BREAK == state.EXIT_FATAL
    assert state.EXIT_DEBUG_WATCH == state.EXIT_HTIF
    st = state.new_state(4096)[1]
    st[debug.ST_DBG_BREAK] = 1
    assert debug.debug_exit(st, state.EXIT_DEBUG_BREAK) == state.EXIT_BREAK
    st[debug.ST_DBG_HIT] = 1
    assert debug.debug_exit(st, state.EXIT_DEBUG_WATCH) == state.EXIT_WATCH
    st[debug.ST_DBG_HIT] = 0
    assert debug.debug_exit(st, state.EXIT_HTIF) == state.EXIT_HTIF


@pytest.mark.parametrize("cause", [CAUSE_MISALIGNED_FETCH, CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS,
                                   CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT])
def test_translation_fault_encoding_round_trips(cause):
    code = mmu.fault_code.py_func(cause)
    assert code < 0 and code == -(cause + 1)
    assert mmu.fault_cause.py_func(code) == cause


def test_process_exit_statuses_are_defined_once():
    assert cli.EXIT_FATAL is runner.ExitStatus.FATAL
    assert cli.EXIT_USER_ERROR is runner.ExitStatus.USER_ERROR
    assert cli.EXIT_BUDGET is runner.ExitStatus.BUDGET
    assert cli.EXIT_INTERRUPTED is runner.ExitStatus.INTERRUPTED
    assert runner.EXIT_CONSOLE is runner.ExitStatus.FATAL
    assert boot.EXIT_NO_REBOOT is runner.ExitStatus.NO_REBOOT
    assert cli.EXIT_BROKEN_PIPE is runner.ExitStatus.BROKEN_PIPE
    assert (int(runner.EXIT_USER_ERROR), int(runner.EXIT_NO_REBOOT), int(runner.EXIT_BUDGET),
            int(runner.EXIT_FATAL), int(runner.EXIT_INTERRUPTED), int(runner.EXIT_BROKEN_PIPE)) == \
        (2, 4, 124, 125, 130, 141)
    assert f"{runner.EXIT_NO_REBOOT}" == "4"          # help texts format them as numbers


def test_the_help_texts_give_the_statuses_the_commands_return():
    parser = cli.build_parser(plugins={})
    for name in ("run", "boot"):
        text = parser.subcommands[name].format_help()
        for status in (runner.EXIT_USER_ERROR, runner.EXIT_FATAL, runner.EXIT_INTERRUPTED):
            assert f"{int(status)} for a" in text or f"{int(status)} after" in text, (name, status, text)


@pytest.mark.parametrize("code, status", [(0, 0), (1, 1), (3, 3), (255, 255), (256, 1), (511, 255),
                                          (-1, 255), (None, 1), ("x", 1)])
def test_a_guest_exit_code_becomes_one_exit_status_for_run_and_boot(code, status):
    # one mapping (lifecycle/cli/runner.py) for both commands: low 8 bits, never 0 for a failure
    assert runner.guest_exit_status(code) == status


def test_run_result_reason_is_a_str_enum():
    assert issubclass(machine.Reason, str) and issubclass(machine.Reason, Enum)
    assert machine.Reason.EXIT == "exit" and machine.Reason.BUDGET in ("budget", "exit")
    assert f"{machine.Reason.STOPPED}" == "stopped"
    values = [m.value for m in machine.Reason]
    assert len(values) == len(set(values))


@pytest.mark.parametrize("program, budget, reason", [("dev_poweroff.elf", 50_000_000, "exit"),
                                                     ("dev_timer.elf", 1000, "budget")])
def test_machine_run_returns_a_reason(program, budget, reason):
    import io
    from pathlib import Path
    m = machine.Machine(memory=16 << 20, engine="jit", console=io.BytesIO())
    m.load(str(Path(__file__).parent / "guest" / "bin" / program))
    r = m.run(max_instructions=budget)
    assert type(r.reason) is machine.Reason and r.reason == reason
